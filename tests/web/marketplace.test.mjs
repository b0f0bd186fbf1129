// The marketplace in the browser (headless Debian chromium), seed 002's
// flow: an administrator finds plugins (search, category, order), reads a
// plugin's page (README, versions, permissions, signature, size), installs
// with its steps shown live over the WebSocket, and a second open panel
// gains the plugin's sidebar item and widget without a reload; "Updates
// (N)"; an upgrade that asks for a new permission waits for a yes; a broken
// package fails saying why and changes nothing; uninstall asks, keeps the
// data when told to, and the plugin leaves every open panel; seed 001's
// install-remote; a user sees none of it.
//   node marketplace.test.mjs PATH/TO/patchbay SOURCE_DIR
import { cpSync, mkdirSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { apiAt, check, finish, launchBrowserForContexts, run, signInAt, startServer, tempDir, until } from './support.mjs';

const [binary, sourceDir] = process.argv.slice(2);
if (!binary || !sourceDir) {
  console.error('usage: node marketplace.test.mjs PATCHBAY_BINARY SOURCE_DIR');
  process.exit(2);
}
const dir = tempDir('patchbay-marketplace-');
const modules = join(dir, 'modules');
mkdirSync(modules, { recursive: true });
// ui-seed (a sidebar item, a widget, pages: seed 004's client API) at
// 1.0.0, and at 1.1.0 asking for outbound HTTP too.
const seedSource = join(dir, 'src', 'ui-seed');
cpSync(join(sourceDir, 'tests', 'web', 'plugins', 'ui-seed'), seedSource, { recursive: true });
const seedManifest = JSON.parse(readFileSync(join(seedSource, 'plugin.json'), 'utf8'));
writeFileSync(join(seedSource, 'plugin.json'), JSON.stringify({ ...seedManifest, category: 'testing', permissions: ['db:own'] }));
writeFileSync(join(seedSource, 'README.md'), '# Seed-style UI\n\nA **test** plugin.\n\n<script>window.pwned = 1</script>\n');
run(binary, ['pack', seedSource, '--output', modules]);
writeFileSync(join(seedSource, 'plugin.json'), JSON.stringify({ ...seedManifest, version: '1.1.0', category: 'testing', permissions: ['db:own', 'http:fetch'] }));
run(binary, ['pack', seedSource, '--output', modules]);
run(binary, ['pack', join(sourceDir, 'examples', 'plugins', 'billing'), '--output', modules]);
writeFileSync(join(modules, 'broken_v1.0.0.zip'), 'not a zip at all');

const server = await startServer(binary, ['serve', '--data', 'data', '--modules', modules], dir);
const panel = server.url;
const adminPassword = readFileSync(join(dir, 'data', 'admin-password'), 'utf8').trim();
const adminToken = readFileSync(join(dir, 'data', 'admin-token'), 'utf8').trim();
const api = apiAt(panel);

const { browser, close } = await launchBrowserForContexts();
const pageErrors = [];
const signedIn = (username, password, width = 1280) => signInAt(browser, panel, username, password, pageErrors, { viewport: { width, height: 900 } });
const shots = process.env.PATCHBAY_SHOTS; // a folder: screenshots of each state, to look at
async function shot(page, name) {
  if (shots) await page.screenshot({ path: join(shots, `marketplace-${name}.png`), fullPage: true });
}

try {
  const admin = await signedIn('admin', adminPassword);
  const { page } = admin;
  // Every plugin.operation event this tab hears, in order.
  const heard = [];
  page.on('websocket', (ws) => ws.on('framereceived', (frame) => {
    try {
      const message = JSON.parse(frame.payload);
      if (message.type === 'plugin.operation') heard.push(message.operation);
    } catch { /* not ours */ }
  }));
  await page.reload(); // the tab's live connection again, now heard
  await page.waitForSelector('[data-page=dashboard]');
  // A second panel, on its dashboard, that should change live.
  const other = await signedIn('admin', adminPassword);

  // --- Finding plugins ---
  await page.click('[data-nav-id="admin.marketplace"]');
  await page.waitForSelector('.market-card');
  check((await page.locator('.market-card').count()) === 3, 'the marketplace lists the source\'s plugins (billing, broken, ui-seed)');
  check((await page.innerText('[data-plugin="ui-seed"]')).includes('v1.1.0'), 'each with its newest version');
  await page.fill('input[type=search]', 'seed-style');
  await until(async () => (await page.locator('.market-card').count()) === 1, 'search narrows the list');
  check(true, 'search by name narrows the list');
  await page.fill('input[type=search]', '');
  await until(async () => (await page.locator('.market-card').count()) === 3, 'clearing the search shows all again');
  await page.selectOption('select[aria-label=Category]', 'testing');
  await until(async () => (await page.locator('.market-card').count()) === 1, 'a category narrows the list');
  check(true, 'a category narrows the list');
  await page.selectOption('select[aria-label=Category]', '');
  await until(async () => (await page.locator('.market-card').count()) === 3, 'all categories again');
  await shot(page, 'catalog');

  // --- A plugin's page ---
  await page.click('[data-plugin="ui-seed"] a.plugin-name');
  await page.waitForSelector('[data-page=marketplace-plugin]');
  const readme = await page.innerHTML('[data-testid=readme]');
  check(readme.includes('<strong>test</strong>') && !readme.includes('<script'), 'the README is rendered, without its raw HTML');
  check(await page.evaluate(() => window.pwned === undefined), 'nothing in the README ran');
  check((await page.innerText('[data-testid=permissions]')).includes('http:fetch'), 'the permissions the newest version asks for');
  check((await page.innerText('[data-testid=signature]')).includes('Not signed'), 'the signature status');
  check((await page.locator('.table tbody tr').count()) === 2, 'every version is listed');
  await shot(page, 'plugin-page');

  // --- Install 1.0.0, steps shown live ---
  await page.selectOption('select[aria-label="Version to install"]', '1.0.0');
  check((await page.innerText('[data-testid=permissions]')).includes('db:own') && !(await page.innerText('[data-testid=permissions]')).includes('http:fetch'),
    'choosing a version shows what that version asks for');
  await page.click('.market-detail-actions button:has-text("Install")');
  await page.waitForSelector('[data-testid=operation][data-state=done]', { timeout: 15000 });
  const steps = [...new Set(heard.filter((o) => o.plugin === 'ui-seed' && o.step).map((o) => o.step))];
  check(JSON.stringify(steps) === JSON.stringify(['download', 'verify', 'unpack', 'migrate', 'activate']),
    `the steps came live over the WebSocket: ${steps.join(', ')}`);
  check((await page.innerText('[data-testid=operation]')).includes('Installed 1.0.0'), 'the page says it is installed');
  await page.waitForSelector('.market-detail-actions .tag:has-text("Installed 1.0.0")');
  // The other open panel: the sidebar item and the widget, without a reload.
  await other.page.waitForSelector('[data-nav-id^="plugin.ui-seed."]', { timeout: 5000 });
  check(true, "another open panel gains the plugin's sidebar item without a reload");
  await other.page.waitForSelector('[data-widget="ui-seed.balance"]', { timeout: 5000 });
  check(true, 'and its dashboard widget');

  // --- Updates (N) and an upgrade that asks for more ---
  await page.click('a:has-text("← Marketplace")');
  await page.waitForSelector('.market-card');
  check((await page.innerText('[data-testid=updates-tab]')).includes('Updates (1)'), 'Updates (1)');
  await page.click('[data-testid=updates-tab]');
  await until(async () => (await page.locator('.market-card').count()) === 1, 'the updates view shows the one plugin');
  check(true, 'the updates view lists the plugin with a newer version');
  await page.click('[data-plugin="ui-seed"] button:has-text("Update to 1.1.0")');
  await page.waitForSelector('[data-testid=permission-prompt]');
  check((await page.innerText('[data-testid=permission-prompt]')).includes('http:fetch'), 'the new permission is shown for a yes first');
  await shot(page, 'permission-prompt');
  await page.click('[data-testid=permission-prompt] button:has-text("Cancel")');
  await page.waitForSelector('[data-testid=permission-prompt]', { state: 'detached' });
  check((await api('GET', '/api/plugins/ui-seed/client.js?v=1.0.0')).status === 200 &&
    (await api('GET', '/api/admin/marketplace/plugins/ui-seed', { token: adminToken })).json.installed === '1.0.0', 'cancelled: nothing changed');
  await page.click('[data-plugin="ui-seed"] button:has-text("Update to 1.1.0")');
  await page.click('[data-testid=permission-prompt] button:has-text("Allow and upgrade")');
  await until(async () => (await api('GET', '/api/admin/marketplace/plugins/ui-seed', { token: adminToken })).json.installed === '1.1.0', 'upgraded to 1.1.0', 15000);
  check(true, 'allowed: upgraded to 1.1.0');
  await page.waitForSelector('[data-testid=updates-tab]:has-text("Updates (0)")');
  check(true, 'Updates (0) after it');

  // --- A broken package fails, saying why, and changes nothing ---
  await page.click('button[role=tab]:has-text("All plugins")');
  await page.click('[data-plugin="broken"] button:has-text("Install")');
  await page.waitForSelector('[data-plugin="broken"] [data-testid=operation][data-state=failed]', { timeout: 15000 });
  const why = await page.innerText('[data-plugin="broken"] [data-testid=operation]');
  check(why.includes('broken_v1.0.0.zip'), `a failed install says why: ${why}`);
  check(!(await api('GET', '/api/admin/plugins', { token: adminToken })).json.plugins.some((p) => p.id === 'broken'), 'and installs nothing');
  check((await page.locator('[data-plugin="broken"] button:has-text("Install")').count()) === 1, 'Install can be tried again');
  await shot(page, 'failed');

  // --- Uninstall, keeping the data ---
  await page.click('[data-plugin="ui-seed"] a.plugin-name');
  await page.waitForSelector('[data-page=marketplace-plugin]');
  await page.click('.market-detail-actions button:has-text("Uninstall")');
  await page.waitForSelector('[data-testid=uninstall-dialog]');
  await shot(page, 'uninstall-dialog');
  await page.check('[data-testid=uninstall-dialog] input[name=keepData]');
  await page.click('[data-testid=uninstall-dialog] button:has-text("Uninstall")');
  await page.waitForSelector('[data-testid=operation][data-state=done]:has-text("Uninstalled")', { timeout: 15000 });
  check(heard.some((o) => o.action === 'uninstall' && o.keepData === true), 'the uninstall kept the data, as asked');
  check(existsSync(join(dir, 'data', 'plugin-data', 'ui-seed')), "the plugin's data is still there");
  await other.page.waitForSelector('[data-nav-id^="plugin.ui-seed."]', { state: 'detached', timeout: 5000 });
  check(true, 'the plugin leaves the other open panel without a reload');

  // --- Seed 001's install-remote ---
  const remote = await api('POST', '/api/v1/marketplace/install-remote', { token: adminToken, body: { addon_id: 'billing' } });
  check(remote.status === 200 && remote.json.restart_required === false && remote.json.addon_id === 'billing', `install-remote: ${remote.text}`);
  await other.page.waitForSelector('[data-nav-id="plugin.billing.billing"]', { timeout: 5000 });
  check(true, "billing's sidebar item appears in the open panel");

  // --- At 375 px ---
  const narrow = await signedIn('admin', adminPassword, 375);
  await narrow.page.goto(panel + '/admin/marketplace');
  await narrow.page.waitForSelector('.market-card');
  const overflow = await narrow.page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
  check(overflow <= 0, `no sideways scrolling at 375 px (${overflow} px)`);
  await shot(narrow.page, 'catalog-375');
  await narrow.page.goto(panel + '/admin/marketplace/billing');
  await narrow.page.waitForSelector('[data-testid=readme]');
  const overflow2 = await narrow.page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
  check(overflow2 <= 0, `a plugin's page fits at 375 px (${overflow2} px)`);
  await shot(narrow.page, 'plugin-375');
  // The administration's tab strip scrolls sideways at 375 px: the current
  // tab is scrolled into view (Audit log, the last, is past the edge).
  await narrow.page.goto(panel + '/admin/audit');
  await narrow.page.waitForSelector('nav.tabs [aria-current=page]');
  const inView = await narrow.page.evaluate(() => {
    const nav = document.querySelector('nav.tabs');
    const n = nav.getBoundingClientRect(), t = nav.querySelector('[aria-current=page]').getBoundingClientRect();
    return { tab: Math.round(t.left) + '-' + Math.round(t.right), strip: Math.round(n.left) + '-' + Math.round(n.right),
      inside: t.left >= n.left - 1 && t.right <= n.right + 1, scrolls: nav.scrollWidth > nav.clientWidth };
  });
  check(inView.scrolls && inView.inside, `the current tab is in view in the strip at 375 px (tab ${inView.tab}, strip ${inView.strip})`);
  // Its records stack, each field under its name, rather than scroll.
  await narrow.page.waitForSelector('table.stacks tbody tr');
  const audit = await narrow.page.evaluate(() => {
    const table = document.querySelector('table.stacks');
    const firstCell = table.querySelector('tbody td');
    return { hidden: table.scrollWidth - table.clientWidth, label: getComputedStyle(firstCell, '::before').content };
  });
  check(audit.hidden <= 0 && audit.label === '"When"', `the audit log fits at 375 px, each field named (${audit.hidden} px hidden, ${audit.label})`);
  await shot(narrow.page, 'admin-tabs-375');

  // --- A user sees none of it ---
  check((await api('POST', '/api/auth/register', { body: { username: 'bob', password: 'bob-password' } })).status < 300, 'a user registers');
  const bob = await signedIn('bob', 'bob-password');
  check((await bob.page.locator('[data-nav-id="admin.marketplace"]').count()) === 0, 'no marketplace in a user\'s sidebar');
  const status = await bob.page.evaluate(() => fetch('/api/admin/marketplace').then((r) => r.status));
  check(status === 403, `a user's request for the marketplace is refused (${status})`);
  const denied = await bob.page.evaluate(() => fetch('/api/admin/marketplace/operations', { method: 'POST', headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ action: 'install', id: 'broken' }) }).then((r) => r.status));
  check(denied === 403 || denied === 401, `and so is starting an operation (${denied})`);

  check(pageErrors.length === 0, `no errors in the pages: ${pageErrors.join(' | ')}`);
} finally {
  await close();
  server.stop();
}
finish();
