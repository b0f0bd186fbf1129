// The whole product from one command, as a newcomer meets it: `patchbay up`
// (what the README's run command starts) prints the panel's URL and how to
// sign in; the newcomer signs in with the printed password, opens the
// marketplace, installs Billing from the registry `up` started, and sees
// its sidebar item, its dashboard widget and its page appear.
//   node newcomer.test.mjs PATH/TO/patchbay SOURCE_DIR
import { check, finish, launchBrowserForContexts, signInAt, startServer, tempDir, until } from './support.mjs';

const [binary] = process.argv.slice(2);
if (!binary) {
  console.error('usage: node newcomer.test.mjs PATCHBAY_BINARY');
  process.exit(2);
}
const dir = tempDir('patchbay-newcomer-');
const server = await startServer(binary, ['up', '--registry-listen', '127.0.0.1:0'], dir);
const { browser, close } = await launchBrowserForContexts();
const pageErrors = [];
try {
  await until(async () => server.stdout().includes('patchbay is up'), 'the banner', 5000);
  const banner = server.stdout();
  const printed = banner.match(/Panel\s+(http:\/\/\S+?)\/?\n/);
  check(printed && printed[1] === server.url, `the banner names the panel's URL (${printed && printed[1]})`);
  const password = (banner.match(/password "([^"]+)"/) || [])[1];
  check(Boolean(password), 'and the first administrator\'s password');
  check(/Registry\s+http:\/\/127\.0\.0\.1:\d+\/\s+holding ai-chatbot 1\.0\.0, billing 1\.0\.0, discord-alerts 1\.0\.0, server-activity 1\.0\.0/.test(banner), 'and the registry with the reference plugins');

  const { page } = await signInAt(browser, server.url, 'admin', password, pageErrors);
  check(true, 'the newcomer signs in with the printed password');
  await page.click('[data-nav-id="admin.marketplace"]');
  await page.waitForSelector('[data-plugin="billing"]');
  check((await page.innerText('[data-page=marketplace]')).includes('From registry http://127.0.0.1:'), 'the marketplace shows the registry\'s plugins');
  await page.click('[data-plugin="billing"] button:has-text("Install")');
  await page.waitForSelector('[data-plugin="billing"] [data-testid=operation][data-state=done]', { timeout: 20000 });
  check(true, 'Billing installs from the marketplace');
  await page.waitForSelector('[data-nav-id="plugin.billing.billing"]', { timeout: 5000 });
  check(true, "its sidebar item appears, without a reload");
  await page.click('[data-nav-id="dashboard"]');
  const widget = page.frameLocator('[data-widget="billing.balance"] iframe.plugin-frame').locator('[data-balance]');
  await widget.waitFor({ timeout: 8000 });
  check(/0[.,]00/.test(await widget.innerText()), `its balance widget renders on the dashboard (${await widget.innerText()})`);
  await page.click('[data-nav-id="plugin.billing.billing"]');
  const billingPage = page.frameLocator('iframe.plugin-frame').locator('body');
  await until(async () => /Balance\s+\S*0[.,]00/.test(await billingPage.innerText()), 'the billing page renders', 8000);
  check(true, 'its page renders at /billing');
  check(pageErrors.length === 0, `no errors in the page: ${pageErrors.join(' | ')}`);
} finally {
  await close();
  server.stop();
}
finish();
