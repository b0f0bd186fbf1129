// Debian's Chromium driven over the DevTools protocol with nothing added
// to its pages, for timing pages with many frames. Playwright gives every
// frame a script world of its own as it is made (and tells itself of each
// context), which costs each of 20 small frames about as much as the frame
// itself; here the only calls are navigate, set cookies and, at the end,
// one evaluate in the top document.
//   const browser = await launchBareChromium();
//   const page = await browser.newPage();
//   await page.setCookies(url, [{name, value}]);
//   await page.addScriptOnLoad(source);   // runs in the top document first
//   await page.navigate(url);
//   const value = await page.waitFor('window.__done', 20000);
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import WebSocket from 'ws';
import { tempDir } from '../../tests/web/support.mjs';

export async function launchBareChromium() {
  const profile = tempDir('patchbay-bare-chromium-');
  const child = spawn('/usr/bin/chromium', ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
    '--disable-component-update', '--disable-sync', '--no-first-run', '--remote-debugging-port=0', `--user-data-dir=${profile}`, 'about:blank'],
  { stdio: 'ignore' });
  const portFile = join(profile, 'DevToolsActivePort');
  for (let i = 0; !existsSync(portFile) || readFileSync(portFile, 'utf8').split('\n').length < 2; i++) {
    if (i > 200) throw new Error('chromium did not open its DevTools port');
    await new Promise((r) => setTimeout(r, 50));
  }
  const [port, path] = readFileSync(portFile, 'utf8').split('\n');
  const socket = new WebSocket(`ws://127.0.0.1:${port}${path}`, { perMessageDeflate: false, maxPayload: 256 << 20 });
  await new Promise((resolve, reject) => { socket.once('open', resolve); socket.once('error', reject); });
  let next = 1;
  const waiting = new Map();
  socket.on('message', (data) => {
    const m = JSON.parse(String(data));
    const w = m.id && waiting.get(m.id);
    if (!w) return;
    waiting.delete(m.id);
    if (m.error) w.reject(new Error(`${w.method}: ${m.error.message}`));
    else w.resolve(m.result);
  });
  const send = (method, params = {}, sessionId) => new Promise((resolve, reject) => {
    const id = next++;
    waiting.set(id, { resolve, reject, method });
    socket.send(JSON.stringify({ id, method, params, ...(sessionId ? { sessionId } : {}) }));
  });

  return {
    async newPage() {
      const { browserContextId } = await send('Target.createBrowserContext', { disposeOnDetach: true });
      const { targetId } = await send('Target.createTarget', { url: 'about:blank', browserContextId });
      const { sessionId } = await send('Target.attachToTarget', { targetId, flatten: true });
      const call = (method, params) => send(method, params, sessionId);
      return {
        setCookies: (url, cookies) => call('Network.setCookies', { cookies: cookies.map((c) => ({ url, ...c })) }),  // {name, value, httpOnly?}
        addScriptOnLoad: async (source) => {
          await call('Page.enable');
          await call('Page.addScriptToEvaluateOnNewDocument', { source });
        },
        navigate: (url) => call('Page.navigate', { url }),
        async evaluate(expression) {
          const r = await call('Runtime.evaluate', { expression, returnByValue: true });
          if (r.exceptionDetails) throw new Error(`${expression}: ${r.exceptionDetails.text}`);
          return r.result.value;
        },
        // Polls `expression` in the top document until it is not undefined.
        async waitFor(expression, ms = 20000) {
          const deadline = Date.now() + ms;
          while (Date.now() < deadline) {
            const value = await this.evaluate(expression).catch(() => undefined);
            if (value !== undefined && value !== null) return value;
            await new Promise((r) => setTimeout(r, 100));
          }
          throw new Error(`timed out waiting for ${expression}`);
        },
        close: () => send('Target.disposeBrowserContext', { browserContextId }),
      };
    },
    async close() {
      const exited = new Promise((r) => (child.exitCode !== null ? r() : child.once('exit', r)));
      await Promise.race([send('Browser.close').catch(() => {}), new Promise((r) => setTimeout(r, 2000))]);
      await Promise.race([exited, new Promise((r) => setTimeout(r, 3000))]);
      if (child.exitCode === null) child.kill('SIGKILL');
      socket.close();
      await new Promise((r) => setTimeout(r, 200));
      try {
        rmSync(profile, { recursive: true, force: true, maxRetries: 10, retryDelay: 100 });
      } catch { /* a renderer still writing as it ends: the folder is in the system's temp */ }
    },
  };
}
