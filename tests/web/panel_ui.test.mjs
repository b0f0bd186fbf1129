// The panel in a real browser (headless Debian chromium), against `patchbay
// serve` with the example plugins: register, log in and out; servers a
// user cannot see; Billing refusing a server with its reason at the form;
// start/stop showing up live in another tab; Discord Alerts' webhook once
// its grant is set; a plugin's settings form whose secret never reaches
// the browser; deactivating a plugin; CSRF, session fixation and another
// origin's page refused; login throttling; every hook point fired.
//   node panel_ui.test.mjs PATH/TO/patchbay SOURCE_DIR
import { cpSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { join } from 'node:path';
import { apiAt, check, finish, launchBrowserForContexts, startServer, tempDir, until } from './support.mjs';

const [binary, sourceDir] = process.argv.slice(2);
if (!binary || !sourceDir) {
  console.error('usage: node panel_ui.test.mjs PATCHBAY_BINARY SOURCE_DIR');
  process.exit(2);
}
const dir = tempDir('patchbay-panel-ui-');
mkdirSync(join(dir, 'data', 'plugins'), { recursive: true });
for (const id of ['billing', 'discord-alerts']) cpSync(join(sourceDir, 'examples', 'plugins', id), join(dir, 'data', 'plugins', id), { recursive: true });
cpSync(join(sourceDir, 'tests', 'web', 'plugins', 'hook-recorder'), join(dir, 'data', 'plugins', 'hook-recorder'), { recursive: true });
writeFileSync(join(dir, 'data', 'config.json'), JSON.stringify({ plugins: { active: ['billing', 'discord-alerts', 'hook-recorder'] } }));

// A stand-in for Discord's webhook, and a page of another origin.
const webhooks = [];
const elsewhere = createServer((req, res) => {
  if (req.method === 'POST' && req.url === '/webhook') {
    let body = '';
    req.on('data', (d) => { body += d; });
    req.on('end', () => { webhooks.push(JSON.parse(body)); res.writeHead(204).end(); });
    return;
  }
  if (req.url.startsWith('/evil')) {
    res.writeHead(200, { 'Content-Type': 'text/html' });
    res.end(`<!doctype html><script>
      const panel = new URL(location.href).searchParams.get('panel');
      window.results = {};
      fetch(panel + '/api/servers', { method: 'POST', credentials: 'include', headers: { 'Content-Type': 'text/plain' },
        body: JSON.stringify({ name: 'pwned' }) }).then(() => { window.results.post = 'sent'; }, () => { window.results.post = 'failed'; });
      const ws = new WebSocket(panel.replace('http', 'ws') + '/api/events');
      ws.onmessage = (e) => { window.results.ws = e.data; };
      ws.onerror = () => { window.results.ws = 'refused'; };
    </script>`);
    return;
  }
  res.writeHead(404).end();
});
await new Promise((r) => elsewhere.listen(0, '127.0.0.1', r));
const elsewhereUrl = `http://127.0.0.1:${elsewhere.address().port}`;

const server = await startServer(binary, ['serve', '--data', 'data'], dir);
const panel = server.url;
const adminPassword = readFileSync(join(dir, 'data', 'admin-password'), 'utf8').trim();

const api = apiAt(panel);
const tokenOf = async (username, password) => (await api('POST', '/api/auth/login', { body: { username, password } })).json.token;

const { browser, close } = await launchBrowserForContexts();
const pageErrors = [];
async function newPage() {
  const context = await browser.newContext();
  const page = await context.newPage();
  page.on('pageerror', (e) => pageErrors.push(String(e)));
  return { context, page };
}
const text = (page, selector) => page.locator(selector).first().innerText();

try {
  // --- Register, log out, log in (the UI's own forms) ---
  const alice = await newPage();
  await alice.page.goto(panel + '/');
  await alice.page.waitForURL(/\/login/);
  await alice.page.click('text=Create an account');
  await alice.page.fill('input[name=username]', 'alice');
  await alice.page.fill('input[name=password]', 'alice-password');
  await alice.page.click('button[type=submit]');
  await alice.page.waitForSelector('[data-page=dashboard]');
  check((await text(alice.page, 'h1')).includes('Welcome, alice'), 'registering signs in and shows the dashboard');
  await alice.page.waitForSelector('[data-nav-id=dashboard]'); // the navigation arrives after the page
  check((await alice.page.locator('[data-nav-id=dashboard]').count()) === 1 && (await alice.page.locator('[data-nav-id="admin.users"]').count()) === 0,
    'the sidebar has stable ids, and no admin items for a user');
  await alice.page.waitForSelector('[data-nav-id="plugin.billing.billing"]');
  const order = await alice.page.locator('.sidebar [data-nav-id]').evaluateAll((els) => els.map((e) => e.dataset.navId));
  check(order.join(',') === 'dashboard,servers,plugin.billing.billing,hook-recorder.seen,profile',
    `plugins placed their sidebar items after "servers" (Billing's client.js, then hook-recorder's sidebar:items): ${order}`);
  await alice.page.click('text=Log out');
  await alice.page.waitForURL(/\/login/);
  await alice.page.fill('input[name=username]', 'alice');
  await alice.page.fill('input[name=password]', 'wrong-password');
  await alice.page.click('button[type=submit]');
  await alice.page.waitForSelector('[role=alert]');
  check((await text(alice.page, '[role=alert]')) === 'Invalid credentials', 'a wrong password says why');
  await alice.page.fill('input[name=password]', 'alice-password');
  await alice.page.click('button[type=submit]');
  await alice.page.waitForSelector('[data-page=dashboard]');
  check(true, 'logging in again works');

  // --- A server, made in the UI ---
  await alice.page.click('text=New server');
  await alice.page.fill('input[name=name]', 'Alpha');
  await alice.page.click('button[type=submit]');
  await alice.page.waitForSelector('[data-page=server]');
  const alphaId = alice.page.url().split('/servers/')[1].split('/')[0];
  check((await text(alice.page, 'h1')) === 'Alpha', 'creating a server shows its page');

  // --- Another user sees nothing of it ---
  const bob = await newPage();
  await bob.page.goto(panel + '/register');
  await bob.page.fill('input[name=username]', 'bob');
  await bob.page.fill('input[name=password]', 'bob-password');
  await bob.page.click('button[type=submit]');
  await bob.page.waitForSelector('[data-page=dashboard]');
  await bob.page.goto(`${panel}/servers/${alphaId}`);
  await bob.page.waitForSelector('[role=alert]');
  check((await text(bob.page, '[role=alert]')) === 'Server not found', "another's server is not found in the UI");
  const bobToken = await tokenOf('bob', 'bob-password');
  check((await api('GET', `/api/servers/${alphaId}`, { token: bobToken })).status === 404, "another's server answers 404");
  check((await api('POST', `/api/servers/${alphaId}/power`, { token: bobToken, body: { action: 'start' } })).status === 404, "nor can he start it");

  // --- Live: start in one tab, seen in another without a reload ---
  const aliceTab2 = await alice.context.newPage();
  await aliceTab2.goto(panel + '/servers');
  await aliceTab2.waitForSelector(`[data-server-id="${alphaId}"] [data-status=offline]`);
  await alice.page.click('.power >> text=Start');
  await aliceTab2.waitForSelector(`[data-server-id="${alphaId}"] [data-status=starting]`, { timeout: 5000 });
  await aliceTab2.waitForSelector(`[data-server-id="${alphaId}"] [data-status=running]`, { timeout: 10000 });
  check(true, 'start shows up live in another tab: starting, then running');
  await alice.page.click('[data-tab-id=resources]');
  await alice.page.waitForSelector('[data-testid=usage-cpu]', { timeout: 10000 });
  check(/%$/.test(await text(alice.page, '[data-testid=usage-cpu]')), 'the resource view shows the live usage');
  await aliceTab2.click(`[data-server-id="${alphaId}"] >> text=Stop`);
  await alice.page.waitForSelector('[data-status=offline]', { timeout: 10000 });
  check(true, 'stop from the other tab shows up live');

  // --- Billing denies when the user owes money; the reason at the form ---
  const adminToken = await tokenOf('admin', adminPassword);
  const plan = await api('POST', '/api/plugins/billing/plans', { token: adminToken, body: { name: 'Gold', price: 10 } });
  const aliceToken = await tokenOf('alice', 'alice-password');
  await api('POST', '/api/plugins/billing/checkout', { token: aliceToken, body: { plan_id: plan.json.id } });
  await alice.page.goto(panel + '/servers/new');
  await alice.page.fill('input[name=name]', 'Beta');
  await alice.page.click('button[type=submit]');
  await alice.page.waitForSelector('[role=alert]');
  check((await text(alice.page, '[role=alert]')) === 'Insufficient balance.', "Billing's reason is shown at the form");
  check(new URL(alice.page.url()).pathname === '/servers/new', 'and the form stays');
  check(!(await api('GET', '/api/servers', { token: aliceToken })).json.servers.some((s) => s.name === 'Beta'), 'nothing was created');

  // --- An administrator configures plugins in the UI; the secret never reaches the browser ---
  const admin = await newPage();
  const secret = 'sk_live_' + Math.random().toString(36).slice(2);
  const seenBodies = [];
  admin.page.on('response', async (r) => { try { seenBodies.push(await r.text()); } catch { /* redirects, aborted */ } });
  admin.page.on('websocket', (ws) => ws.on('framereceived', (f) => seenBodies.push(String(f.payload))));
  await admin.page.goto(panel + '/login');
  await admin.page.fill('input[name=username]', 'admin');
  await admin.page.fill('input[name=password]', adminPassword);
  await admin.page.click('button[type=submit]');
  await admin.page.waitForSelector('[data-page=dashboard]');
  await admin.page.click('[data-nav-id="admin.plugins"]');
  await admin.page.waitForSelector('[data-plugin=billing]');
  check((await admin.page.locator('.plugin-row').count()) === 3, 'the plugins list shows the installed plugins');
  await admin.page.click('[data-plugin=billing] .plugin-name');
  await admin.page.waitForSelector('[data-testid=settings-form]');
  await admin.page.click('[data-testid=settings-form] button >> text="Set"');
  await admin.page.fill('[data-testid=settings-form] input[type=password]', secret);
  await admin.page.selectOption('[data-testid=settings-form] select[name=currency]', 'EUR');
  await admin.page.click('text=Save settings');
  await admin.page.waitForSelector('[data-secret-set=stripe_key]');
  check(true, 'the secret shows as "set" after saving');
  await admin.page.reload();
  await admin.page.waitForSelector('[data-secret-set=stripe_key]');
  check((await admin.page.inputValue('select[name=currency]')) === 'EUR', 'the other settings were saved too');
  const masked = await api('GET', '/api/admin/plugins/billing/settings', { token: adminToken });
  check(masked.json.values.stripe_key === '********', 'the API masks the secret');
  // Discord Alerts: its webhook URL and its grant to reach it, through the form.
  await admin.page.goto(panel + '/admin/plugins/discord-alerts');
  await admin.page.waitForSelector('[data-testid=settings-form]');
  await admin.page.fill('input[name=webhook_url]', `${elsewhereUrl}/webhook`);
  await admin.page.click('text=Save settings');
  await admin.page.waitForSelector('text=Settings saved.');
  await admin.page.check('input[name=fetch]');
  await admin.page.fill('input[name=hosts]', '127.0.0.1');
  await admin.page.click('text=Save grant');
  await until(async () => (await api('GET', '/api/admin/plugins/discord-alerts/grants', { token: adminToken })).json.fetch === true, 'the grant is saved');
  const made = await api('POST', '/api/servers', { token: bobToken, body: { name: 'Gamma' } });
  check(made.status === 200, 'bob, who owes nothing, creates a server');
  await until(async () => webhooks.some((w) => w.content.includes('Gamma') && w.content.includes('bob')), 'Discord Alerts posts to its webhook');
  check(true, 'Discord Alerts received the server:onCreate hook and reached its webhook');
  check(!seenBodies.some((b) => b.includes(secret)), 'the secret is in no response and no live event the browser received');

  // --- Deactivating a plugin in one tab removes its routes; other tabs hear of it ---
  check((await api('GET', '/api/plugins/billing/plans')).status === 200, "billing's routes answer while it is active");
  const adminTab2 = await admin.context.newPage();
  await adminTab2.goto(panel + '/servers');
  await adminTab2.waitForSelector('[data-nav-id="hook-recorder.seen"]');
  await admin.page.goto(panel + '/admin/plugins');
  await admin.page.click('[data-plugin=hook-recorder] button >> text="Deactivate"');
  await admin.page.waitForSelector('[data-plugin=hook-recorder] [data-active=false]');
  check((await api('GET', '/api/plugins/hook-recorder/seen')).status === 404, 'a deactivated plugin\'s routes are gone');
  await adminTab2.waitForSelector('[data-nav-id="hook-recorder.seen"]', { state: 'detached', timeout: 5000 });
  check(true, 'the other tab dropped the plugin\'s sidebar item without a reload (plugins.changed)');
  await admin.page.click('[data-plugin=hook-recorder] button >> text="Activate"');
  await admin.page.waitForSelector('[data-plugin=hook-recorder] [data-active=true]');

  // --- CSRF, another origin's page, session fixation ---
  const cookies = await alice.context.cookies(panel);
  const cookieHeader = cookies.map((c) => `${c.name}=${c.value}`).join('; ');
  const csrf = cookies.find((c) => c.name === 'pb_csrf').value;
  const noToken = await api('POST', '/api/servers', { headers: { Cookie: cookieHeader }, body: { name: 'csrf' } });
  check(noToken.status === 403, `a cookie request without the CSRF token is refused (${noToken.status})`);
  const otherOrigin = await api('POST', '/api/servers', { headers: { Cookie: cookieHeader, 'X-CSRF-Token': csrf, Origin: elsewhereUrl }, body: { name: 'csrf' } });
  check(otherOrigin.status === 403, 'another Origin is refused even with the token');
  const evil = await alice.context.newPage();
  await evil.goto(`${elsewhereUrl}/evil?panel=${encodeURIComponent(panel)}`);
  await until(async () => { const r = await evil.evaluate('window.results'); return r && r.post && r.ws; }, 'the other origin\'s page finished');
  const evilResults = await evil.evaluate('window.results');
  check(evilResults.ws === 'refused', `another origin's page cannot open the live events with the cookie (${evilResults.ws})`);
  check(!(await api('GET', '/api/servers', { token: aliceToken })).json.servers.some((s) => s.name === 'pwned'), "another origin's page made no server with the cookie");
  const fixed = await newPage();
  await fixed.context.addCookies([{ name: 'pb_session', value: 'pbs_chosen_by_the_attacker', url: panel }]);
  await fixed.page.goto(panel + '/login');
  await fixed.page.fill('input[name=username]', 'bob');
  await fixed.page.fill('input[name=password]', 'bob-password');
  await fixed.page.click('button[type=submit]');
  await fixed.page.waitForSelector('[data-page=dashboard]');
  const after = (await fixed.context.cookies(panel)).find((c) => c.name === 'pb_session');
  check(after.value !== 'pbs_chosen_by_the_attacker' && after.httpOnly && after.sameSite === 'Strict', 'logging in starts a new session (no fixation), HttpOnly, SameSite=Strict');
  check((await api('GET', '/api/auth/me', { token: 'pbs_chosen_by_the_attacker' })).status === 401, 'the planted value opens nothing');

  // --- An expired session goes to log-in, and back after it ---
  await alice.page.goto(`${panel}/servers/${alphaId}/settings`);
  await alice.page.waitForSelector('[data-page=server]');
  await api('DELETE', '/api/user/sessions', { token: aliceToken });  // log out everywhere else
  await alice.page.waitForURL(/\/login\?next=/, { timeout: 5000 });
  check(true, 'a session ended elsewhere sends the tab to log-in');
  await alice.page.fill('input[name=username]', 'alice');
  await alice.page.fill('input[name=password]', 'alice-password');
  await alice.page.click('button[type=submit]');
  await alice.page.waitForURL(new RegExp(`/servers/${alphaId}/settings$`));
  check(true, 'and back to the page after logging in');

  // --- Login throttling, in the UI ---
  await api('POST', '/api/auth/register', { body: { username: 'carol', password: 'carol-password' } });
  const carol = await newPage();
  await carol.page.goto(panel + '/login');
  let last = '';
  for (let i = 0; i < 6; i++) {
    await carol.page.fill('input[name=username]', 'carol');
    await carol.page.fill('input[name=password]', `guess-${i}`);
    await carol.page.click('button[type=submit]');
    await carol.page.waitForSelector('button[type=submit]:not([disabled])');
    last = await text(carol.page, '[role=alert]');
  }
  check(last === 'Too many attempts, try again later', `the sixth guess is throttled (${last})`);

  // --- An administrator closes registration in the UI ---
  await admin.page.goto(panel + '/admin');
  await admin.page.uncheck('input[name=registrationOpen]');
  await admin.page.waitForSelector('text=Closed: only administrators create accounts');
  const late = await newPage();
  await late.page.goto(panel + '/register');
  await late.page.fill('input[name=username]', 'latecomer');
  await late.page.fill('input[name=password]', 'late-password');
  await late.page.click('button[type=submit]');
  await late.page.waitForSelector('[role=alert]');
  check((await text(late.page, '[role=alert]')) === 'Registration is currently disabled', 'closed registration says so at the form');
  await admin.page.check('input[name=registrationOpen]');
  await admin.page.waitForSelector('text=Open: the log-in page offers registration');

  // --- Every hook point fired in the shipped panel, with its context ---
  // (The recorder restarted above: these come after.)
  await api('POST', '/api/servers', { token: bobToken, body: { name: 'Delta' } });
  await api('DELETE', `/api/servers/${made.json.server.id}`, { token: bobToken });
  await api('POST', `/api/servers/${alphaId}/power`, { token: aliceToken, body: { action: 'start' } });
  const expected = {
    'server:beforeCreate': 'description,limits,name,node,user', 'server:onCreate': 'server,user', 'server:onStatusChange': 'action,server,user',
    'server:onDelete': 'server,user', 'server:resourceUsage': 'server,usage', 'auth:afterRegister': 'ip,user', 'auth:afterLogin': 'ip,method,user',
    'route:register': 'mount,plugin,routes', 'ws:message': 'message,user', 'db:afterSave': 'change,collection,record',
    'sidebar:items': 'items,user', 'admin:tabs': 'tabs,user',
  };
  let seen = {};
  await until(async () => {
    seen = (await api('GET', '/api/plugins/hook-recorder/seen')).json || {};
    return Object.keys(expected).every((e) => seen[e]);
  }, 'every hook point', 15000).catch(() => {});
  for (const [event, keys] of Object.entries(expected)) {
    check(seen[event] && seen[event].join(',') === keys, `${event} fired with {${keys}} (got ${seen[event] ? seen[event].join(',') : 'nothing'})`);
  }
  check(pageErrors.length === 0, `no script errors in the pages (${pageErrors.join('; ')})`);
} finally {
  await close();
  server.stop();
  elsewhere.close();
}
finish();
