// The dashboard in Chromium: navigation start -> the dashboard rendered
// with the user's servers, over `loads` loads (assets cached after the
// first, as for a person coming back); and the shell's size on the wire.
//   node dashboard.mjs <panel url> <username> <password> <loads>
// Prints one JSON line: {loads, p50, p90, first, shellGzip, shellBrotli} (ms, bytes).
import { launchBrowser } from '../../tests/web/support.mjs';

const [url, username, password, loadsArg] = process.argv.slice(2);
const loads = Number(loadsArg || 20);

const shell = await (await fetch(url + '/')).text();
const assets = [...shell.matchAll(/\/assets\/[^"]+/g)].map((m) => m[0]);
let shellGzip = 0;
let shellBrotli = 0;
for (const a of assets) {
  for (const [encoding, add] of [['gzip', (n) => { shellGzip += n; }], ['br', (n) => { shellBrotli += n; }]]) {
    const r = await fetch(url + a, { headers: { 'Accept-Encoding': encoding } });
    add(Number(r.headers.get('content-length')));
    await r.arrayBuffer();
  }
}

const { context, close } = await launchBrowser();
const page = await context.newPage();
await page.goto(url + '/login');
await page.fill('input[name=username]', username);
await page.fill('input[name=password]', password);
await page.click('button[type=submit]');
await page.waitForSelector('[data-page=dashboard]');
const times = [];
for (let i = 0; i < loads; i++) {
  await page.goto(url + '/');
  await page.waitForSelector('[data-page=dashboard] .server-row');
  // performance.now() counts from this navigation's start.
  times.push(await page.evaluate(() => performance.now()));
}
await close();
const first = times[0];
times.sort((a, b) => a - b);
const pick = (q) => times[Math.min(times.length - 1, Math.floor(q * times.length))];
console.log(JSON.stringify({ loads, first: +first.toFixed(1), p50: +pick(0.5).toFixed(1), p90: +pick(0.9).toFixed(1), shellGzip, shellBrotli }));
