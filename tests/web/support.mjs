// Helpers for browser tests: a patchbay process on a free port, a headless
// Debian chromium driven by playwright-core, and assertions that fail loudly.
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, existsSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';

export function tempDir(prefix) { return mkdtempSync(join(tmpdir(), prefix)); }

export function run(binary, args, options = {}) {
  return execFileSync(binary, args, { encoding: 'utf8', ...options });
}

// Starts `patchbay <args> --port-file F` and waits until it listens.
export async function startServer(binary, args, cwd) {
  const portFile = join(cwd, 'port');
  const child = spawn(binary, [...args, '--listen', '127.0.0.1:0', '--port-file', portFile], { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  let stdout = '';
  child.stderr.on('data', (d) => { stderr += d; });
  child.stdout.on('data', (d) => { stdout += d; });
  const written = () => existsSync(portFile) && readFileSync(portFile, 'utf8').endsWith('\n');
  for (let i = 0; i < 400 && !written(); i++) await new Promise((r) => setTimeout(r, 25));
  if (!written()) { child.kill('SIGKILL'); throw new Error(`server did not start: ${stderr}`); }
  const port = readFileSync(portFile, 'utf8').trim();
  return { url: `http://127.0.0.1:${port}`, stop: () => child.kill('SIGTERM'), stderr: () => stderr, stdout: () => stdout };
}

// A fresh profile each time (playwright passes it as --user-data-dir).
export async function launchBrowser() {
  const userDataDir = tempDir('patchbay-chromium-');
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: '/usr/bin/chromium',
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
           '--disable-sync', '--no-first-run'],
  });
  return { context, close: async () => { await context.close(); rmSync(userDataDir, { recursive: true, force: true }); } };
}

// One browser with separate contexts (each its own cookies: one per
// person in a test), on a fresh temporary profile.
export async function launchBrowserForContexts() {
  const browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
           '--disable-sync', '--no-first-run'],
  });
  return { browser, close: () => browser.close() };
}

// Polls `condition` (an async function run in node, not in the page: the
// page's Content Security Policy forbids the eval that waitForFunction uses)
// until it is true; throws naming `what` after `ms`.
// A condition that throws (a frame being made again) counts as not yet.
export async function until(condition, what, ms = 5000) {
  const deadline = Date.now() + ms;
  let lastError = null;
  while (Date.now() < deadline) {
    try {
      if (await condition()) return;
    } catch (e) {
      lastError = e;
    }
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`timed out waiting for: ${what}${lastError ? ` (last: ${lastError.message})` : ''}`);
}

// api(method, path, {token, body, headers}) against the server at `base`:
// {status, json (null when not JSON), text, headers}.
export function apiAt(base) {
  return async (method, path, { token, body, headers = {} } = {}) => {
    const h = { ...headers };
    if (token) h.Authorization = `Bearer ${token}`;
    if (body !== undefined) h['Content-Type'] = 'application/json';
    const r = await fetch(base + path, { method, headers: h, body: body === undefined ? undefined : JSON.stringify(body) });
    const text = await r.text();
    let json = null;
    try { json = JSON.parse(text); } catch { /* not JSON */ }
    return { status: r.status, json, text, headers: r.headers };
  };
}

// A new context of `browser` signed in to the panel at `base` through its
// log-in form, on the dashboard; page errors go into `errors`.
export async function signInAt(browser, base, username, password, errors, contextOptions = {}) {
  const context = await browser.newContext(contextOptions);
  const page = await context.newPage();
  page.on('pageerror', (e) => errors.push(String(e)));
  await page.goto(base + '/login');
  await page.fill('input[name=username]', username);
  await page.fill('input[name=password]', password);
  await page.click('button[type=submit]');
  await page.waitForSelector('[data-page=dashboard]');
  return { context, page };
}

let failures = 0;
export function check(condition, message) {
  if (!condition) { failures++; console.error(`FAIL: ${message}`); } else console.log(`ok: ${message}`);
}
export function finish() {
  if (failures) { console.error(`${failures} check(s) failed`); process.exit(1); }
  console.log('all checks passed');
}
