// The reference plugins with their UI, used as a panel's users would, in a
// real browser against `patchbay serve`:
//   Billing: an administrator adds a plan in its admin tab; a user
//     subscribes on its plans page, the sidebar badge counts the unpaid
//     invoice, server creation is refused until she pays on the billing
//     page, the "Usage & Cost" tab of a running server shows its usage;
//     revenue and transactions in the admin subtabs.
//   AI Chatbot: the dashboard's chat widget answers from its built-in
//     answers, then from an OpenAI-compatible endpoint (a stand-in here)
//     once an administrator sets a key; hostile text stays text; the
//     administrator reads the conversation; other users cannot.
//   Server Activity (Sodium's onRender* style): its page, widget, server
//     tab and admin page show who did what, each user only her own.
// PATCHBAY_SHOTS=DIR keeps screenshots (also at 375 px wide).
//   node reference_plugins.test.mjs PATH/TO/patchbay SOURCE_DIR
import { cpSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { join } from 'node:path';
import { apiAt, check, finish, launchBrowserForContexts, signInAt, startServer, tempDir, until } from './support.mjs';

const [binary, sourceDir] = process.argv.slice(2);
if (!binary || !sourceDir) {
  console.error('usage: node reference_plugins.test.mjs PATCHBAY_BINARY SOURCE_DIR');
  process.exit(2);
}
const shots = process.env.PATCHBAY_SHOTS;
const dir = tempDir('patchbay-reference-');
const plugins = ['billing', 'ai-chatbot', 'server-activity'];
mkdirSync(join(dir, 'data', 'plugins'), { recursive: true });
for (const id of plugins) cpSync(join(sourceDir, 'examples', 'plugins', id), join(dir, 'data', 'plugins', id), { recursive: true });
writeFileSync(join(dir, 'data', 'config.json'), JSON.stringify({ plugins: { active: plugins } }));

// A stand-in for an OpenAI-compatible chat completions endpoint.
const modelCalls = [];
const model = createServer((req, res) => {
  let body = '';
  req.on('data', (d) => { body += d; });
  req.on('end', () => {
    const request = JSON.parse(body);
    modelCalls.push({ authorization: req.headers.authorization, request });
    const last = request.messages[request.messages.length - 1].content;
    res.writeHead(200, { 'Content-Type': 'application/json' });
    res.end(JSON.stringify({ choices: [{ message: { role: 'assistant', content: `Model says: ${last}` } }] }));
  });
});
await new Promise((r) => model.listen(0, '127.0.0.1', r));

const server = await startServer(binary, ['serve', '--data', 'data'], dir);
const panel = server.url;
const api = apiAt(panel);
const adminPassword = readFileSync(join(dir, 'data', 'admin-password'), 'utf8').trim();
const tokenOf = async (username, password) => (await api('POST', '/api/auth/login', { body: { username, password } })).json.token;

const { browser, close } = await launchBrowserForContexts();
const pageErrors = [];
const frameIn = (page, surface) => page.frameLocator(`${surface} iframe.plugin-frame`);
async function textIn(page, surface, selector, ms = 8000) {
  const locator = frameIn(page, surface).locator(selector).first();
  await locator.waitFor({ timeout: ms });
  return locator.innerText();
}
async function shot(page, name) {
  if (shots) await page.screenshot({ path: join(shots, `${name}.png`), fullPage: true });
}

try {
  const adminToken = await tokenOf('admin', adminPassword);
  const admin = await signInAt(browser, panel, 'admin', adminPassword, pageErrors);

  // --- Billing: the administrator adds a plan in the admin tab ---
  await admin.page.goto(panel + '/admin');
  await admin.page.click('.tabs >> text="Billing"');
  const adminTab = frameIn(admin.page, '[data-page=admin-extensions]');
  await adminTab.locator('[data-new-plan] input[name=name]').fill('Gold');
  await adminTab.locator('[data-new-plan] input[name=price]').fill('10');
  await adminTab.locator('[data-new-plan] input[name=description]').fill('4 GB, daily backups');
  await adminTab.locator('[data-new-plan] button[type=submit]').click();
  await until(async () => (await adminTab.locator('[data-admin-plans]').count()) === 1 && (await adminTab.locator('[data-admin-plans]').innerText()).includes('Gold'),
    'the plan is listed in the admin tab');
  check(true, "Billing's admin tab adds a plan");
  check((await api('POST', '/api/plugins/billing/plans', { body: { name: 'Free', price: 0 } })).status === 403, 'a plan needs an administrator');
  check((await api('POST', '/api/plugins/billing/plans', { token: adminToken, body: { name: '', price: -1 } })).json.error.includes('non-empty'),
    'a bad plan is refused with the reason');

  // --- A user: dashboard widgets of all three ---
  const alice = { context: await browser.newContext() };
  alice.page = await alice.context.newPage();
  alice.page.on('pageerror', (e) => pageErrors.push(String(e)));
  await alice.page.goto(panel + '/register');
  await alice.page.fill('input[name=username]', 'alice');
  await alice.page.fill('input[name=password]', 'alice-password');
  await alice.page.click('button[type=submit]');
  await alice.page.waitForSelector('[data-page=dashboard]');
  check(/0[.,]00/.test(await textIn(alice.page, '[data-widget="billing.balance"]', '[data-balance]')), "Billing's balance widget");
  check((await textIn(alice.page, '[data-widget="server-activity.recent"]', '[data-activity-empty]')).includes('No server activity'),
    "Server Activity's widget (onRenderWidget)");
  check((await textIn(alice.page, '[data-widget="ai-chatbot.chat"]', '[data-chat-empty]')).includes('Ask anything'), "the chatbot's widget");

  // --- The chatbot answers from its built-in answers; hostile text stays text ---
  const chat = frameIn(alice.page, '[data-widget="ai-chatbot.chat"]');
  await chat.locator('input[name=message]').fill('How do I create a new server?');
  await chat.locator('button[type=submit]').click();
  await until(async () => (await chat.locator('[data-sender=assistant]').count()) === 1, 'the built-in answer');
  check((await chat.locator('[data-sender=assistant]').innerText()).includes('New server'), 'a built-in answer to a common question');
  const hostile = '<img src=x onerror="parent.postMessage(1,\'*\')">';
  await chat.locator('input[name=message]').fill(hostile);
  await chat.locator('button[type=submit]').click();
  await until(async () => (await chat.locator('[data-sender=assistant]').count()) === 2, 'the second answer');
  check((await chat.locator('[data-sender=user]').nth(1).innerText()) === hostile && (await chat.locator('img').count()) === 0, 'HTML in a message is shown as text');
  const aliceToken = await tokenOf('alice', 'alice-password');
  const long = await api('POST', '/api/plugins/ai-chatbot/conversation', { token: aliceToken, body: { message: 'x'.repeat(2001) } });
  check(long.status === 413 && long.json.error.includes('2000'), `an oversized message is refused with the limit (${long.text})`);

  // The administrator sets a key: the stand-in model answers, with the history.
  const settings = await api('PUT', '/api/admin/plugins/ai-chatbot/settings', {
    token: adminToken, body: { values: { api_key: 'sk-test-123', api_url: `http://127.0.0.1:${model.address().port}/v1/chat/completions`, model: 'test-model' } },
  });
  check(settings.status === 200, `the chatbot's settings are saved (${settings.text})`);
  await alice.page.reload();
  await chat.locator('input[name=message]').fill('What about the weather?');
  await chat.locator('button[type=submit]').click();
  await until(async () => (await chat.locator('[data-sender=assistant]').count()) === 3, 'the model\'s answer');
  check((await chat.locator('[data-sender=assistant]').nth(2).innerText()) === 'Model says: What about the weather?', "the model's answer is shown");
  const call = modelCalls[0];
  check(call && call.authorization === 'Bearer sk-test-123' && call.request.model === 'test-model' && call.request.messages[0].role === 'system' &&
    call.request.messages.filter((m) => m.role === 'user').length === 3, 'the model gets the key, the model name, the instructions and the history');
  await shot(alice.page, 'reference-dashboard');

  // --- Billing: subscribe, the badge, refused server creation, pay ---
  await alice.page.click('text=New server');
  await alice.page.fill('input[name=name]', 'Alpha');
  await alice.page.click('button[type=submit]');
  await alice.page.waitForSelector('[data-page=server]');
  const alphaId = alice.page.url().split('/servers/')[1].split('/')[0];
  await alice.page.goto(panel + '/billing/plans');
  const plansPage = frameIn(alice.page, '[data-page=plugin]');
  await plansPage.locator('[data-subscribe]').first().click();
  await alice.page.click('.modal >> text="Subscribe"');
  await alice.page.waitForURL(/\/billing$/);
  check(true, 'subscribing asks first, then goes to the billing page');
  const billing = frameIn(alice.page, '[data-page=plugin]');
  await until(async () => (await billing.locator('[data-unpaid]').count()) === 1 && (await billing.locator('[data-unpaid]').innerText()) === '1', 'one unpaid invoice');
  check(/-.*10[.,]00|10[.,]00.*-/.test(await billing.locator('[data-balance]').innerText()), 'the balance shows what is owed');
  await until(async () => (await alice.page.locator('[data-badge="plugin.billing.billing"]').count()) === 1 &&
    (await alice.page.locator('[data-badge="plugin.billing.billing"]').innerText()) === '1', "the sidebar badge counts the unpaid invoice");
  check(true, 'the sidebar badge counts the unpaid invoice');
  await shot(alice.page, 'reference-billing');
  await alice.page.goto(panel + '/servers/new');
  await alice.page.fill('input[name=name]', 'Beta');
  await alice.page.click('button[type=submit]');
  await alice.page.waitForSelector('[role=alert]');
  check((await alice.page.locator('[role=alert]').first().innerText()) === 'Insufficient balance.', 'Billing refuses a server while she owes money');
  await alice.page.goto(panel + '/billing');
  await billing.locator('[data-pay]').first().click();
  await until(async () => (await billing.locator('[data-unpaid]').count()) === 1 && (await billing.locator('[data-unpaid]').innerText()) === '0', 'paid');
  await until(async () => (await alice.page.locator('[data-badge="plugin.billing.billing"]').count()) === 0, 'the badge goes once paid');
  check(true, 'paying on the billing page clears the invoice and the badge');
  const invoice = (await api('GET', '/api/plugins/billing/invoices', { token: aliceToken })).json[0];
  check((await api('POST', `/api/plugins/billing/invoices/${invoice.id}/pay`, { token: aliceToken, body: {} })).status === 409, 'an invoice is paid once');
  await alice.page.goto(panel + '/servers/new');
  await alice.page.fill('input[name=name]', 'Beta');
  await alice.page.click('button[type=submit]');
  await alice.page.waitForSelector('[data-page=server]');
  check(true, 'once paid, a server can be created');

  // --- Usage & Cost and Activity tabs of a running server ---
  await alice.page.goto(`${panel}/servers/${alphaId}`);
  await alice.page.click('.power >> text=Start');
  await until(async () => (await api('GET', `/api/plugins/billing/servers/${alphaId}/usage`, { token: aliceToken })).json.last !== null, 'a usage report', 15000);
  await alice.page.click('[data-tab-id="billing.usage"]');
  check((await textIn(alice.page, '[data-page=server]', '[data-usage]')).includes('Last report: CPU'), 'the "Usage & Cost" tab shows the server\'s usage and cost');
  await alice.page.click('[data-tab-id="server-activity.activity"]');
  await until(async () => (await frameIn(alice.page, '[data-page=server]').locator('[data-activity]').innerText()).includes('alice ran start on Alpha'),
    'the activity tab', 8000);
  check((await frameIn(alice.page, '[data-page=server]').locator('[data-activity] tr[data-type]').count()) === 2, "the server's own events only (created, start)");
  await alice.page.click('[data-nav-id="plugin.server-activity.activity"]');
  await until(async () => (await frameIn(alice.page, '[data-page=plugin]').locator('[data-activity]').innerText()).includes('alice created Beta'), 'the activity page');
  check(true, "Server Activity's page from its sidebar item (onRenderPage)");

  // --- Another user sees none of it ---
  await api('POST', '/api/auth/register', { body: { username: 'bob', password: 'bob-password' } });
  const bobToken = await tokenOf('bob', 'bob-password');
  check((await api('GET', `/api/plugins/billing/servers/${alphaId}/usage`, { token: bobToken })).status === 404, "another's server's usage is not found");
  check((await api('GET', '/api/plugins/server-activity/events', { token: bobToken })).json.length === 0, "nor its activity");
  check((await api('GET', '/api/plugins/ai-chatbot/conversation', { token: bobToken })).json.messages.length === 0, 'nor her conversation');
  check((await api('GET', '/api/plugins/ai-chatbot/admin/conversations', { token: bobToken })).status === 403, 'conversations are for administrators');
  check((await api('GET', '/api/plugins/billing/admin/summary', { token: bobToken })).status === 403, 'revenue is for administrators');

  // --- The administrator: revenue, transactions, conversations, all activity ---
  await admin.page.goto(panel + '/admin');
  await admin.page.click('.tabs >> text="Billing"');
  await admin.page.click('.subtabs >> text="Revenue"');
  await until(async () => /10[.,]00/.test(await adminTab.locator('[data-revenue]').innerText()), 'the revenue subtab');
  check(true, 'the Revenue subtab shows what was paid');
  await admin.page.click('.subtabs >> text="Transactions"');
  await until(async () => (await adminTab.locator('[data-transactions] tbody tr').count()) === 2, 'the transactions subtab');
  check(true, 'the Transactions subtab lists the charge and the payment');
  await admin.page.click('.tabs >> text="Support chats"');
  const chats = frameIn(admin.page, '[data-page=admin-extensions]');
  await chats.locator('[data-conversations] [data-open]').first().click();
  await until(async () => (await chats.locator('[data-transcript]').innerText()).includes('Model says: What about the weather?'), 'the transcript');
  check(true, 'the administrator reads the conversation');
  await admin.page.click('.tabs >> text="Server activity"');
  await until(async () => (await frameIn(admin.page, '[data-page=admin-extensions]').locator('[data-summary]').innerText()).includes('created'), 'the admin page');
  check(true, "Server Activity's admin page (onRenderAdminPage)");
  await shot(admin.page, 'reference-admin-activity');

  // --- 375 px wide: no sideways scrolling ---
  const narrow = await signInAt(browser, panel, 'alice', 'alice-password', pageErrors, { viewport: { width: 375, height: 800 } });
  for (const path of ['/', '/billing', '/billing/invoices']) {
    await narrow.page.goto(panel + path);
    await narrow.page.waitForSelector('.plugin-surface.plugin-ready', { timeout: 8000 });
    const wide = await narrow.page.evaluate(() => document.documentElement.scrollWidth > window.innerWidth + 1);
    check(!wide, `${path} fits 375 px`);
    await shot(narrow.page, `reference-narrow${path.replaceAll('/', '-')}`);
  }
  check(pageErrors.length === 0, `no errors in the pages: ${pageErrors.join(' | ')}`);
} finally {
  await close();
  server.stop();
  model.close();
}
finish();
