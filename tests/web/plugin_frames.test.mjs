// Plugins' client code in the browser (headless Debian chromium), each
// surface in a sandboxed frame: both client APIs (Sodium's onRender* over
// surfaces server.js declared, seed 004's sodium.ui registered from
// client.js) render in every surface; sidebar placement and badges; a page
// at its own path, also when loaded directly; a plugin's API calls reach its
// own routes only; a hostile client module reaches nothing of the panel;
// a spinning one and a throwing one get error cards while the panel stays
// responsive; a plugin deactivated elsewhere goes from an open panel live.
//   node plugin_frames.test.mjs PATH/TO/patchbay SOURCE_DIR
import { cpSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { apiAt, check, finish, launchBrowserForContexts, signInAt, startServer, tempDir, until } from './support.mjs';

const [binary, sourceDir] = process.argv.slice(2);
if (!binary || !sourceDir) {
  console.error('usage: node plugin_frames.test.mjs PATCHBAY_BINARY SOURCE_DIR');
  process.exit(2);
}
const dir = tempDir('patchbay-plugin-frames-');
mkdirSync(join(dir, 'data', 'plugins'), { recursive: true });
const ids = ['ui-sodium', 'ui-seed', 'ui-hostile'];
cpSync(join(sourceDir, 'tests', 'web', 'plugins', 'ui-spinner'), join(dir, 'data', 'plugins', 'ui-spinner'), { recursive: true });
for (const id of ids) cpSync(join(sourceDir, 'tests', 'web', 'plugins', id), join(dir, 'data', 'plugins', id), { recursive: true });
// docs/plugin-ui.md's example client module, as it stands there.
const docs = readFileSync(join(sourceDir, 'docs', 'plugin-ui.md'), 'utf8');
const example = docs.match(/```js\n([\s\S]*?)```/)[1];
mkdirSync(join(dir, 'data', 'plugins', 'docs-example'), { recursive: true });
writeFileSync(join(dir, 'data', 'plugins', 'docs-example', 'plugin.json'), JSON.stringify({ name: 'Docs example', version: '1.0.0', type: 'feature' }));
writeFileSync(join(dir, 'data', 'plugins', 'docs-example', 'client.js'), example);
writeFileSync(join(dir, 'data', 'plugins', 'docs-example', 'server.js'), `export default function (sodium) {
  sodium.ui.addPage({ id: 'analytics', path: '/plugins/docs-example', title: 'Docs analytics' });
  sodium.ui.addServerTab({ id: 'notes', label: 'Docs notes' });
  sodium.http.registerRoutes((router) => {
    router.get('/stats', (req, res) => res.json({ total: 7 }));
    router.get('/unpaid', (req, res) => res.json({ count: 3 }));
    router.get('/balance', (req, res) => res.json({ balance: '$5.00' }));
  });
}
`);
ids.push('docs-example');
writeFileSync(join(dir, 'data', 'config.json'), JSON.stringify({ plugins: { active: ids } }));

const server = await startServer(binary, ['serve', '--data', 'data'], dir);
const panel = server.url;
const adminPassword = readFileSync(join(dir, 'data', 'admin-password'), 'utf8').trim();

const api = apiAt(panel);

const { browser, close } = await launchBrowserForContexts();
const pageErrors = [];
const signedIn = (username, password) => signInAt(browser, panel, username, password, pageErrors);
// The text of `selector` inside the frame of the surface `surface` (a CSS selector for its holder).
async function inFrame(page, surface, selector, ms = 8000) {
  const frame = page.frameLocator(`${surface} iframe.plugin-frame`);
  await frame.locator(selector).first().waitFor({ timeout: ms });
  return frame.locator(selector).first().innerText();
}

try {
  // --- The client module, as served to frames ---
  const sodiumData = (await api('GET', '/api/plugins/client-data')).json.plugins.find((p) => p.id === 'ui-sodium');
  const module = await api('GET', `/api/plugins/ui-sodium/client.js?v=${sodiumData.clientHash}`);
  check(module.status === 200 && module.headers.get('content-type').startsWith('text/javascript'), 'client.js is served as JavaScript');
  check(module.headers.get('access-control-allow-origin') === '*' && module.headers.get('x-content-type-options') === 'nosniff',
    'with CORS for opaque origins (no credentials) and nosniff');
  check(module.headers.get('cache-control').includes('immutable'), 'immutable when asked for by its content (client-data\'s clientHash)');
  check((await api('GET', '/api/plugins/ui-sodium/client.js')).headers.get('cache-control') === 'no-cache', 'revalidated otherwise');
  check((await api('GET', '/api/plugins/nobody/client.js')).status === 404, 'an unknown plugin has no client module');
  const frameCsp = (await api('GET', '/plugin-frame')).headers.get('content-security-policy');
  check(frameCsp.includes("connect-src 'none'") && frameCsp.includes("frame-ancestors 'self'"), `the frame page's policy: ${frameCsp}`);
  const sandbox0 = await api('GET', '/plugin-frame');
  check(!sandbox0.headers.get('set-cookie'), 'the frame page sets no cookie');
  const frameVersion = ((await api('GET', '/')).text.match(/name="pb-frame-version" content="([0-9a-f]{16})"/) || [])[1];
  check(Boolean(frameVersion), 'the shell names the frame page\'s version');
  check((await api('GET', `/plugin-frame?plugin=x&v=${frameVersion}`)).headers.get('cache-control').includes('immutable'), 'the frame page is kept when asked for by it');
  check(sandbox0.headers.get('cache-control') === 'no-cache' && (await api('GET', '/plugin-frame?v=0000000000000000')).headers.get('cache-control') === 'no-cache',
    'and revalidated otherwise');
  check((await api('GET', '/api/nowhere')).status === 404, 'unknown API paths stay JSON 404s');

  const admin = await signedIn('admin', adminPassword);
  const { page } = admin;
  await page.evaluate(() => { localStorage.setItem('x', 'panel-secret'); });

  // --- Dashboard widgets, both styles ---
  check((await inFrame(page, '[data-widget="ui-sodium.stats"]', '#widget')) === 'Sodium widget body', "Sodium's onRenderWidget fills its frame");
  check((await inFrame(page, '[data-widget="ui-seed.balance"]', '#balance')) === '$12.00', "seed 004's addDashboardWidget renders a promised string");
  const sandbox = await page.locator('[data-widget="ui-seed.balance"] iframe').getAttribute('sandbox');
  check(sandbox === 'allow-scripts allow-forms', `frames are sandboxed without allow-same-origin (${sandbox})`);

  // --- Faults stay in their frame ---
  await page.waitForSelector('[data-widget="ui-hostile.throws"] .plugin-error-card', { timeout: 8000 });
  check((await page.innerText('[data-widget="ui-hostile.throws"] .plugin-error-card')).includes('the widget broke'), 'a throwing render gets an error card saying why');
  // --- The hostile module reached nothing ---
  await until(async () => (await api('GET', '/api/plugins/ui-hostile/report')).json.report, 'the probe reports', 8000);
  const report = (await api('GET', '/api/plugins/ui-hostile/report')).json.report;
  for (const [what, outcome] of Object.entries(report)) check(outcome.startsWith('blocked'), `hostile client: ${what} -> ${outcome}`);
  check((await inFrame(page, '[data-widget="ui-sodium.stats"]', '#widget')) === 'Sodium widget body', 'a forged init changes no other frame');

  // --- Reconfigured elsewhere: the plugin's frames are made again, the others stay ---
  const sodiumFrame = await page.locator('[data-widget="ui-sodium.stats"] iframe.plugin-frame').elementHandle();
  const seedFrame = await page.locator('[data-widget="ui-seed.balance"] iframe.plugin-frame').elementHandle();
  const settingsToken = (await api('POST', '/api/auth/login', { body: { username: 'admin', password: adminPassword } })).json.token;
  check((await api('PUT', '/api/admin/plugins/ui-sodium/settings', { token: settingsToken, body: { values: {} } })).status === 200, 'settings saved through the API');
  await until(async () => !(await sodiumFrame.evaluate((e) => e.isConnected)), "the reconfigured plugin's frame is made again", 3000);
  check(await seedFrame.evaluate((e) => e.isConnected), "another plugin's frame is left as it was");
  check((await inFrame(page, '[data-widget="ui-sodium.stats"]', '#widget')) === 'Sodium widget body', 'and the new frame renders');

  // --- Sidebar: placement and badges ---
  await page.waitForSelector('[data-badge="plugin.ui-seed.seed"]', { timeout: 8000 });
  const order = await page.locator('.sidebar ul').first().locator('[data-nav-id]').evaluateAll((els) => els.map((e) => e.dataset.navId));
  check(order.slice(0, 5).join(',') === 'plugin.ui-seed.seed-node,dashboard,servers,plugin.docs-example.billing,plugin.ui-seed.seed',
    `"top" and "after:servers" placed, ties in the plugins' order (${order.join(', ')})`);
  check(order.includes('plugin.ui-sodium.analytics'), "a Sodium page's automatic sidebar item");
  check((await page.innerText('[data-badge="plugin.ui-seed.seed"]')) === '99+', 'a badge of 120 shows as 99+');
  check((await page.locator('.nav-section', { hasText: 'Plugins' }).count()) === 1, 'an unknown anchor puts the item under "Plugins"');

  // --- Pages at their paths, also loaded directly ---
  await page.click('.sidebar >> text="Sodium page"');
  await page.waitForURL(/\/plugins\/ui-sodium$/);
  check((await inFrame(page, '[data-page=plugin]', '#message')) === 'hello from the server to admin', "api() reaches the plugin's own route, as the signed-in user");
  check((await inFrame(page, '[data-page=plugin]', '#echo')) === '{"n":42}', 'a POST with a JSON body (CSRF token added by the panel)');
  check((await inFrame(page, '[data-page=plugin]', '#plugin')) === 'ui-sodium 1.0.0', 'sodium.plugin says who it is');
  const frame = page.frameLocator('[data-page=plugin] iframe.plugin-frame');
  await frame.locator('#ask').click();
  await page.waitForSelector('dialog.modal[open]');
  await page.click('dialog.modal >> text="Confirm"');
  await frame.locator('#answer:has-text("confirmed")').waitFor();
  check(true, 'modal.confirm answers true in the panel\'s own dialog');
  await frame.locator('#toast').click();
  await page.waitForSelector('.toast >> text=Saved from a frame');
  check(true, "toast.success shows in the panel's toasts");
  await page.goto(panel + '/seed');
  check((await inFrame(page, '[data-page=plugin]', '#seed-page')) === 'Seed page body', "a seed-004 page loads directly at its path (/seed)");
  check((await inFrame(page, '[data-page=plugin]', '#unpaid')) === '120', "fetch() of the plugin's own route goes through the panel");
  await page.goto(panel + '/seed/node');
  check((await inFrame(page, '[data-page=plugin]', '#seed-node')) === 'a DOM node', 'a render returning a DOM node');

  // --- docs/plugin-ui.md's example ---
  await page.goto(panel + '/plugins/docs-example');
  check((await inFrame(page, '[data-page=plugin]', '.card p')) === '7', "the docs' Sodium-style page");
  await page.goto(panel + '/billing');
  check((await inFrame(page, '[data-page=plugin]', 'h2')) === 'Billing', "the docs' seed-style page");
  check((await page.locator('[data-badge="plugin.docs-example.billing"]').innerText()) === '3', "the docs' badge");
  await page.goto(panel + '/');
  check((await inFrame(page, '[data-widget="docs-example.balance"]', 'p')) === '$5.00', "the docs' widget");

  // --- Paths already taken: refused, and administrators are told ---
  await page.goto(panel + '/servers');
  await page.waitForSelector('h1:has-text("Servers")');
  check((await page.locator('[data-page=plugin]').count()) === 0, "a plugin's page cannot take the panel's /servers");
  await page.goto(panel + '/admin/plugins');
  await page.waitForSelector('[data-testid=plugin-ui-problems]');
  const problems = await page.innerText('[data-testid=plugin-ui-problems]');
  check(problems.includes("the page /servers is one of the panel's own paths"), 'the admin hears of the panel path');
  check(problems.includes("the page /billing is already taken by "), "the admin hears of the path another plugin has");
  check(problems.includes('placed after "nowhere"'), 'the admin hears of the unknown anchor');

  // --- Server tabs after the panel's own ---
  const created = await page.evaluate(async () => {
    const csrf = document.cookie.split('; ').find((c) => c.startsWith('pb_csrf=')).slice(8);
    const r = await fetch('/api/servers', { method: 'POST', headers: { 'Content-Type': 'application/json', 'X-CSRF-Token': decodeURIComponent(csrf) }, body: JSON.stringify({ name: 'Tabbed' }) });
    return (await r.json()).server.id;
  });
  await page.goto(`${panel}/servers/${created}`);
  await page.waitForSelector('[data-tab-id="ui-seed.usage"]');
  const tabs = await page.locator('[data-slot=server-tabs] [data-tab-id]').evaluateAll((els) => els.map((e) => e.dataset.tabId));
  check(tabs.slice(0, 3).join(',') === 'console,resources,settings' && tabs.includes('ui-sodium.notes') && tabs.includes('ui-seed.usage'),
    `plugins' server tabs after the panel's own (${tabs.join(', ')})`);
  await page.click('[data-tab-id="ui-sodium.notes"]');
  check((await inFrame(page, '[data-page=server]', '#notes')) === `Notes for ${created}`, "Sodium's onRenderServerTab gets (container, serverId)");
  await page.click('[data-tab-id="ui-seed.usage"]');
  check((await inFrame(page, '[data-page=server]', '#usage')) === `Usage of ${created}`, "seed 004's server tab gets the server's id");

  // --- Admin pages and tabs with subtabs ---
  await page.goto(panel + '/admin');
  await page.click('.tabs >> text="Sodium admin"');
  check((await inFrame(page, '[data-page=admin-extensions]', '#admin-page')) === 'Sodium admin page', "Sodium's admin page");
  await page.click('.tabs >> text="Seed admin"');
  check((await inFrame(page, '[data-page=admin-extensions]', '#subtab')) === 'Subtab Plans', "seed 004's admin tab, first subtab");
  await page.click('.subtabs >> text="Revenue"');
  await until(async () => (await inFrame(page, '[data-page=admin-extensions]', '#subtab')) === 'Subtab Revenue', 'the second subtab renders');
  check(true, 'subtabs switch');

  // --- A spinning widget: its card after the deadline; the panel stays responsive ---
  const adminToken = (await api('POST', '/api/auth/login', { body: { username: 'admin', password: adminPassword } })).json.token;
  await page.goto(panel + '/');
  await inFrame(page, '[data-widget="ui-sodium.stats"]', '#widget');
  check((await api('POST', '/api/admin/plugins/ui-spinner/activate', { token: adminToken })).status === 200, 'the spinner activated');
  await page.waitForSelector('[data-widget="ui-spinner.spin"]', { timeout: 5000 });
  // Long tasks of the panel's own main thread while the frame spins (its
  // own process: a spinning frame would show as one task of seconds).
  const worst = await page.evaluate(() => new Promise((resolve) => {
    let longest = 0;
    const observer = new PerformanceObserver((list) => {
      for (const entry of list.getEntries()) longest = Math.max(longest, entry.duration);
    });
    observer.observe({ type: 'longtask' });
    const started = performance.now();
    let ticks = 0;
    const tick = () => {
      ticks++;
      if (performance.now() - started < 1500) setTimeout(tick, 10);
      else {
        observer.disconnect();
        resolve(longest + (ticks < 20 ? 1e6 : 0)); // timers that never ran: blocked
      }
    };
    setTimeout(tick, 10);
  }));
  check(worst < 100, `the panel's main thread is never blocked over 100 ms while a frame spins (longest task ${worst.toFixed(1)} ms)`);
  await page.waitForSelector('[data-widget="ui-spinner.spin"] .plugin-error-card', { timeout: 10000 });
  check((await page.innerText('[data-widget="ui-spinner.spin"] .plugin-error-card')).includes('did not show this within'), 'a spinning widget gets an error card after its deadline');
  check((await page.locator('[data-widget="ui-spinner.spin"] button', { hasText: 'Reload' }).count()) === 1, 'with "Reload"');
  check((await inFrame(page, '[data-widget="ui-sodium.stats"]', '#widget')) === 'Sodium widget body', 'other plugins are untouched');

  check((await api('POST', '/api/admin/plugins/ui-spinner/deactivate', { token: adminToken })).status === 200, 'the spinner deactivated');

  // --- Live: deactivated elsewhere, gone from the open panel ---
  await page.goto(panel + '/');
  await inFrame(page, '[data-widget="ui-seed.balance"]', '#balance');
  const token = (await api('POST', '/api/auth/login', { body: { username: 'admin', password: adminPassword } })).json.token;
  check((await api('POST', '/api/admin/plugins/ui-seed/deactivate', { token })).status === 200, 'deactivated through the API');
  await until(async () => (await page.locator('[data-widget="ui-seed.balance"]').count()) === 0, 'the widget goes without a reload', 3000);
  await until(async () => (await page.locator('[data-nav-id^="plugin.ui-seed."]').count()) === 0, 'its sidebar items go', 3000);
  check(true, 'a deactivated plugin leaves every open panel within a second or so');
  await page.evaluate(() => { history.pushState(null, '', '/seed'); dispatchEvent(new PopStateEvent('popstate')); });
  await page.waitForSelector('[data-page=plugin-gone]');
  check((await page.innerText('[data-page=plugin-gone]')).includes('Seed-style UI'), 'a page whose plugin went says so');
  await page.goto(panel + '/');
  check((await api('POST', '/api/admin/plugins/ui-seed/activate', { token })).status === 200, 'activated again');
  await until(async () => (await page.locator('[data-widget="ui-seed.balance"]').count()) === 1, 'the widget comes back without a reload', 3000);
  check(true, 'and comes back live');

  check(pageErrors.length === 0, `no errors in the panel's page: ${pageErrors.join(' | ')}`);
} finally {
  await close();
  server.stop();
}
finish();
