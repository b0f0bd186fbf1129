// The registry's web interface in a real browser (headless Debian chromium):
// search narrows the list, a plugin page shows its README, and approving a
// pending version in the admin view makes it appear in the public list.
//   node registry_ui.test.mjs PATH/TO/patchbay
import { writeFileSync, readFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir, run, startServer, launchBrowser, until, check, finish } from './support.mjs';

const binary = process.argv[2];
if (!binary) { console.error('usage: node registry_ui.test.mjs PATCHBAY_BINARY'); process.exit(2); }
const dir = tempDir('patchbay-ui-');
mkdirSync(join(dir, 'plugins'));

// Three drop-in plugins (approved as they are) and one upload (pending).
function makePlugin(id, description, readme) {
  run(binary, ['init', id, '--type', 'feature'], { cwd: dir });
  const manifestPath = join(dir, id, 'plugin.json');
  const manifest = JSON.parse(readFileSync(manifestPath, 'utf8'));
  manifest.description = description;
  writeFileSync(manifestPath, JSON.stringify(manifest, null, 2));
  writeFileSync(join(dir, id, 'README.md'), readme);
  run(binary, ['pack', id, '--output', join(dir, 'plugins')], { cwd: dir });
}
makePlugin('billing', 'Invoices and payments', '# Billing\n\nCharge **customers** monthly.\n\n<script>window.pwned = 1</script>\n');
makePlugin('discord-alerts', 'Server events to Discord', '# Discord Alerts\n\nPosts to a webhook.\n');
makePlugin('backups', 'Nightly backups', '# Backups\n');
const token = JSON.parse(run(binary, ['registry', 'token', 'create', '--data', join(dir, 'data'), '--name', 'admin',
  '--scope', 'admin', '--json'])).token;

const server = await startServer(binary, ['registry', 'serve', '--data', join(dir, 'data'), '--plugins-dir', join(dir, 'plugins'),
  '--require-review'], dir);
run(binary, ['init', 'pending-plugin', '--type', 'feature'], { cwd: dir });
run(binary, ['pack', 'pending-plugin'], { cwd: dir });
// Published by a developer: the administrator reviews it (publishers never review their own versions).
const devToken = JSON.parse(run(binary, ['registry', 'token', 'create', '--data', join(dir, 'data'), '--name', 'dev',
  '--scope', 'publish', '--json'])).token;
run(binary, ['publish', join(dir, 'pending-plugin_v0.1.0.zip'), '--registry', server.url, '--token', devToken]);

const { context, close } = await launchBrowser();
try {
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(server.url + '/');
  const cards = page.locator('#plugin-list li');
  await cards.first().waitFor();
  check(await cards.count() === 3, `the list shows the 3 approved plugins (saw ${await cards.count()})`);
  check(!(await page.locator('#plugin-list').innerText()).includes('pending-plugin'), 'the pending upload is not listed');

  await page.fill('#search', 'discord');
  await until(async () => (await cards.count()) === 1, 'the list to narrow to one plugin');
  check((await cards.first().getAttribute('data-id')) === 'discord-alerts', 'search narrows the list to discord-alerts');
  check((await page.locator('#plugin-count').innerText()).startsWith('1 '), 'the count follows the search');

  await page.fill('#search', 'invoices');
  await until(async () => (await cards.count()) === 1 && (await cards.first().getAttribute('data-id')) === 'billing', 'billing alone');
  await page.click('#plugin-list li a');
  await page.locator('#readme h1').waitFor();
  check((await page.locator('#readme h1').innerText()) === 'Billing', 'the plugin page shows the README heading');
  check((await page.locator('#readme strong').innerText()) === 'customers', 'the README is rendered from Markdown');
  check(!(await page.locator('#readme').innerHTML()).includes('<script'), 'script in a README is not in the page');
  check((await page.locator('#install-command').innerText()).startsWith('patchbay install billing@0.1.0'), 'the install command is shown');
  check((await page.locator('#versions tbody tr').count()) === 1, 'the versions table lists the version');

  await page.goto(server.url + '/#/admin');
  await page.fill('#token', 'pb_wrong');
  await page.click('#signin');
  await page.locator('#signin-error').filter({ hasText: /unknown|revoked|expired/ }).waitFor();
  check(true, 'a wrong token is refused with a message');
  await page.fill('#token', token);
  await page.click('#signin');
  const pending = page.locator('#review-queue li[data-id="pending-plugin"]');
  await pending.waitFor();
  check(true, 'the review queue shows the pending upload');
  await pending.locator('button.approve').click();
  await page.locator('p#review-queue').waitFor();
  check((await page.locator('p#review-queue').innerText()).includes('Nothing waits'), 'the queue empties after approval');

  await page.goto(server.url + '/#/');
  await until(async () => (await cards.count()) === 4, 'four plugins in the public list');
  check(await page.locator('#plugin-list li[data-id="pending-plugin"]').count() === 1, 'the approved version appears in the public list');
  check(errors.length === 0, `no script errors in the page (${errors.join('; ')})`);
} finally {
  await close();
  server.stop();
}
finish();
