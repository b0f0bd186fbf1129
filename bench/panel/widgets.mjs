// 20 plugin widgets on the dashboard in Chromium: navigation start -> every
// widget rendered, p50 of N loads. patchbay: each widget in its sandboxed
// frame (a site per plugin over loopback). Peer: the same 20 client modules
// imported into the page itself, as Sodium's panel does (no isolation),
// from a small Node server answering the same client-data and routes.
// The floor: 20 empty sandboxed frames, each posting one message.
// Memory: the browser's processes (RSS) with each page open, per widget.
// Timed in a bare Chromium (bare_chromium.mjs): nothing is added to the
// frames, the pages themselves note when they are complete.
//   node widgets.mjs <patchbay binary> <loads>
// Prints one JSON line.
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { join } from 'node:path';
import { startServer, tempDir } from '../../tests/web/support.mjs';
import { launchBareChromium } from './bare_chromium.mjs';

const [binary, loadsArg] = process.argv.slice(2);
const loads = Number(loadsArg || 20);
const WIDGETS = 20;

const clientCode = (id) => `export default function (sodium) {
  sodium.ui.onRenderWidget('w', async (container) => {
    const data = await (await sodium.api('/data')).json();
    container.innerHTML = '<div class="stat"><span class="stat-value">' + sodium.escapeHtml(data.value) + '</span><span class="stat-label">${id}</span></div>';
    container.dataset.rendered = '1';
  });
}
`;
const dir = tempDir('patchbay-bench-widgets-');
const ids = Array.from({ length: WIDGETS }, (_, i) => `bench-w${String(i + 1).padStart(2, '0')}`);
for (const id of ids) {
  const p = join(dir, 'data', 'plugins', id);
  mkdirSync(p, { recursive: true });
  writeFileSync(join(p, 'plugin.json'), JSON.stringify({ name: `Widget ${id}`, version: '1.0.0', type: 'widget' }));
  writeFileSync(join(p, 'server.js'), `export default function (sodium) {
  sodium.ui.addDashboardWidget({ id: 'w', title: '${id}', size: 'small' });
  sodium.http.registerRoutes((router) => router.get('/data', (req, res) => res.json({ value: 42 })));
}
`);
  writeFileSync(join(p, 'client.js'), clientCode(id));
}
writeFileSync(join(dir, 'data', 'config.json'), JSON.stringify({ plugins: { active: ids } }));
const server = await startServer(binary, ['serve', '--data', 'data'], dir);
const password = readFileSync(join(dir, 'data', 'admin-password'), 'utf8').trim();

// The peer: Sodium's loader in the page itself.
const peerPage = `<!doctype html><html><head><meta charset="utf-8"><title>in-page</title></head><body><div id="widgets"></div>
<script type="module">
const plugins = (await (await fetch('/api/plugins/client-data')).json()).plugins;
const box = document.getElementById('widgets');
await Promise.all(plugins.map(async (p) => {
  const renders = new Map();
  const api = { plugin: p, api: (path) => fetch('/api/plugins/' + p.id + path),
    ui: { onRenderWidget: (id, fn) => renders.set(id, fn) }, escapeHtml: (s) => String(s).replace(/[&<>"']/g, '') };
  const mod = await import('/api/plugins/' + p.id + '/client.js');
  mod.default(api);
  for (const w of p.dashboardWidgets) {
    const el = document.createElement('div');
    box.appendChild(el);
    await renders.get(w.id)(el);
  }
}));
document.body.dataset.done = String(performance.now());
</script></body></html>`;
// The floor: 20 sandboxed frames of a tiny document, each saying it is
// there; what 20 isolated frames cost in this browser, with nothing in them.
const floorPage = `<!doctype html><html><head><meta charset="utf-8"><title>floor</title></head><body><div id="frames"></div>
<script>
let told = 0;
addEventListener('message', () => { if (++told === ${WIDGETS}) document.body.dataset.done = String(performance.now()); });
for (let i = 0; i < ${WIDGETS}; i++) {
  const frame = document.createElement('iframe');
  frame.setAttribute('sandbox', 'allow-scripts');
  frame.src = '/floor-frame?' + i;
  document.getElementById('frames').appendChild(frame);
}
</script></body></html>`;
const floorFrame = '<!doctype html><html><body><p>widget</p><script>parent.postMessage(1, "*")</script></body></html>';
const peer = createServer((req, res) => {
  const url = new URL(req.url, 'http://x');
  if (url.pathname === '/') return res.writeHead(200, { 'Content-Type': 'text/html' }).end(peerPage);
  if (url.pathname === '/floor') return res.writeHead(200, { 'Content-Type': 'text/html' }).end(floorPage);
  if (url.pathname === '/floor-frame') return res.writeHead(200, { 'Content-Type': 'text/html' }).end(floorFrame);
  if (url.pathname === '/api/plugins/client-data') {
    return res.writeHead(200, { 'Content-Type': 'application/json' })
      .end(JSON.stringify({ plugins: ids.map((id) => ({ id, name: id, version: '1.0.0', dashboardWidgets: [{ id: 'w', title: id }], hasClient: true })) }));
  }
  const m = url.pathname.match(/^\/api\/plugins\/([^/]+)\/(client\.js|data)$/);
  if (m && m[2] === 'client.js') return res.writeHead(200, { 'Content-Type': 'text/javascript' }).end(clientCode(m[1]));
  if (m) return res.writeHead(200, { 'Content-Type': 'application/json' }).end('{"value":42}');
  res.writeHead(404).end();
});
await new Promise((r) => peer.listen(0, '127.0.0.1', r));
const peerUrl = `http://127.0.0.1:${peer.address().port}`;

// The browser's processes' resident memory, in KiB.
function browserRss() {
  const out = execFileSync('ps', ['-eo', 'rss,args'], { encoding: 'utf8' });
  return out.split('\n').filter((l) => l.includes('chromium') && l.includes('--headless')).reduce((sum, l) => sum + Number(l.trim().split(/\s+/)[0]), 0);
}
const pick = (times, q) => [...times].sort((a, b) => a - b)[Math.min(times.length - 1, Math.floor(q * times.length))];

// The panel's session: signed in over its API, the cookies handed to the browser.
const login = await fetch(server.url + '/api/auth/login', { method: 'POST', headers: { 'Content-Type': 'application/json' },
  body: JSON.stringify({ username: 'admin', password }) });
if (!login.ok) throw new Error(`sign-in: ${login.status} ${await login.text()}`);
const cookies = login.headers.getSetCookie().map((c) => { const [pair] = c.split(';'); const at = pair.indexOf('='); return { name: pair.slice(0, at), value: pair.slice(at + 1), httpOnly: /;\s*HttpOnly/i.test(c) }; });

// In the panel's top document: the time when the 20th widget is ready.
const watchWidgets = `if (window.top === window) {
  const done = () => {
    if (window.__widgetsDone === undefined && document.querySelectorAll('.plugin-surface.plugin-ready').length >= ${WIDGETS}) {
      window.__widgetsDone = performance.now();
      observer.disconnect();
    }
  };
  const observer = new MutationObserver(done);
  observer.observe(document, { subtree: true, childList: true, attributes: true, attributeFilter: ['class'] });
}`;

const browser = await launchBareChromium();
const result = { widgets: WIDGETS, loads };
try {
  // In the page (Sodium's way).
  const page = await browser.newPage();
  const inPage = [];
  for (let i = 0; i < loads; i++) {
    await page.navigate(peerUrl + '/?' + i);
    inPage.push(await page.waitFor('document.body && document.body.dataset.done ? Number(document.body.dataset.done) : undefined'));
  }
  await new Promise((r) => setTimeout(r, 500));
  const rssInPage = browserRss();
  const floor = [];
  for (let i = 0; i < loads; i++) {
    await page.navigate(peerUrl + '/floor?' + i);
    floor.push(await page.waitFor('document.body && document.body.dataset.done ? Number(document.body.dataset.done) : undefined'));
  }
  await page.close();

  // patchbay's frames.
  const fpage = await browser.newPage();
  await fpage.setCookies(server.url, cookies);
  await fpage.addScriptOnLoad(watchWidgets);
  const inFrames = [];
  for (let i = 0; i < loads; i++) {
    await fpage.navigate(server.url + '/?' + i);
    inFrames.push(await fpage.waitFor('window.__widgetsDone').catch(async (e) => { console.error(await fpage.evaluate('location.href + " " + document.querySelectorAll(".plugin-surface").length + " ready " + document.querySelectorAll(".plugin-ready").length + " " + document.cookie + " " + typeof MutationObserver')); throw e; }));
  }
  await new Promise((r) => setTimeout(r, 500));
  const rssFramed = browserRss();
  await fpage.close();
  Object.assign(result, {
    framedP50: +pick(inFrames, 0.5).toFixed(1), framedP90: +pick(inFrames, 0.9).toFixed(1),
    inPageP50: +pick(inPage, 0.5).toFixed(1), inPageP90: +pick(inPage, 0.9).toFixed(1),
    emptyFramesP50: +pick(floor, 0.5).toFixed(1), emptyFramesP90: +pick(floor, 0.9).toFixed(1),
    rssInPageKiB: rssInPage, rssFramedKiB: rssFramed, perFrameKiB: Math.round((rssFramed - rssInPage) / WIDGETS),
  });
  result.ratio = +(result.framedP50 / result.inPageP50).toFixed(2);
} finally {
  await browser.close();
  server.stop();
  peer.close();
}
console.log(JSON.stringify(result));
