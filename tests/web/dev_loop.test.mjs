// The dev loop: `patchbay dev DIR` runs a panel with the plugin in DIR; an
// edit to its client code (client.js, or client.tsx compiled with its npm
// packages), or to its server.ts (compiled by esbuild on the fly), shows in the open browser without a reload; a syntax error is told
// in the terminal with its file and line while the last good version keeps
// running; the fix reloads it.
//   node dev_loop.test.mjs PATH/TO/patchbay
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { check, finish, launchBrowserForContexts, signInAt, startServer, tempDir, until } from './support.mjs';

const [binary] = process.argv.slice(2);
if (!binary) {
  console.error('usage: node dev_loop.test.mjs PATCHBAY_BINARY');
  process.exit(2);
}
const dir = tempDir('patchbay-dev-loop-');
const plugin = join(dir, 'devloop');
mkdirSync(plugin, { recursive: true });
writeFileSync(join(plugin, 'plugin.json'), JSON.stringify({ id: 'devloop', name: 'Dev loop', version: '0.1.0', type: 'widget' }));
const serverTs = (word) => `interface Answer { word: string }
export default function (sodium: any) {
  sodium.http.registerRoutes((router: any) => {
    router.get('/word', (): Answer => ({ word: '${word}' }));
  });
}
`;
const clientJs = (label) => `export default function (sodium) {
  sodium.ui.addDashboardWidget({ id: 'word', title: 'Word', size: 'small', render: async () => {
    const { word } = await (await fetch('/api/plugins/devloop/word')).json();
    return '<p id="word">' + sodium.escapeHtml(word) + ' / ${label}</p>';
  } });
}
`;
writeFileSync(join(plugin, 'server.ts'), serverTs('one'));
writeFileSync(join(plugin, 'client.js'), clientJs('client v1'));

const server = await startServer(binary, ['dev', plugin, '--data', join(dir, 'dev-data')], dir);
const { browser, close } = await launchBrowserForContexts();
const pageErrors = [];
try {
  await until(async () => server.stdout().includes('patchbay dev: devloop'), 'the banner', 5000);
  const password = (server.stdout().match(/password "([^"]+)"/) || [])[1];
  check(Boolean(password), 'the banner says how to sign in');
  const { page } = await signInAt(browser, server.url, 'admin', password, pageErrors);
  const word = () => page.frameLocator('[data-widget="devloop.word"] iframe.plugin-frame').locator('#word').innerText({ timeout: 1000 }).catch(() => '');
  await until(async () => (await word()) === 'one / client v1', "the plugin's widget (server.ts compiled)", 10000);
  check(true, 'the widget renders from server.ts and client.js');

  let started = Date.now();
  writeFileSync(join(plugin, 'client.js'), clientJs('client v2'));
  await until(async () => (await word()) === 'one / client v2', 'the client edit shows', 8000);
  check(true, `an edit to client.js shows in the open page without a reload (${Date.now() - started} ms)`);

  started = Date.now();
  writeFileSync(join(plugin, 'server.ts'), serverTs('two'));
  await until(async () => (await word()) === 'two / client v2', 'the server edit shows', 8000);
  check(true, `an edit to server.ts shows too (${Date.now() - started} ms)`);

  writeFileSync(join(plugin, 'server.ts'), 'export default function (sodium: any) {\n  sodium.http.registerRoutes((router: any) => {\n    router.get(\'/word\', () => ({ word: \'three\' });\n  });\n}\n');
  await until(async () => server.stdout().includes('error in devloop'), 'the error in the terminal', 8000);
  const told = server.stdout().slice(server.stdout().indexOf('error in devloop'));
  check(/server\.ts:\d+/.test(told), `the terminal says where: ${told.split('\n')[0]}`);
  check((await (await fetch(server.url + '/api/plugins/devloop/word')).json()).word === 'two', 'the last good version keeps running');
  await page.waitForSelector('[data-widget="devloop.word"] [data-testid=plugin-problem]', { timeout: 5000 });
  const shown = await page.innerText('[data-widget="devloop.word"] [data-testid=plugin-problem]');
  check(shown.includes('server.ts') && shown.includes('did not load'), `and in the plugin's place in the page: ${shown.split('\n')[0]}`);
  if (process.env.PATCHBAY_SHOTS) await page.screenshot({ path: join(process.env.PATCHBAY_SHOTS, 'dev-loop-error.png') });

  writeFileSync(join(plugin, 'server.ts'), serverTs('four'));
  await until(async () => (await word()) === 'four / client v2', 'fixed: reloaded', 8000);
  check(true, 'the fix reloads it');
  await page.waitForSelector('[data-widget="devloop.word"] [data-testid=plugin-problem]', { state: 'detached', timeout: 5000 });
  check(true, 'and the error goes from the page');

  // The client in TSX, with an npm package from the plugin's node_modules:
  // compiled into one browser module on the fly.
  mkdirSync(join(plugin, 'node_modules', 'tiny-shout'), { recursive: true });
  writeFileSync(join(plugin, 'node_modules', 'tiny-shout', 'package.json'), '{"name":"tiny-shout","version":"1.0.0","main":"index.js"}');
  writeFileSync(join(plugin, 'node_modules', 'tiny-shout', 'index.js'), "exports.shout = (s) => s.toUpperCase() + '!';\n");
  const clientTsx = (label) => `/** @jsx h */
import { shout } from 'tiny-shout';
const h = (tag: string, props: { id?: string } | null, ...kids: string[]): string => '<' + tag + (props && props.id ? ' id="' + props.id + '"' : '') + '>' + kids.join('') + '</' + tag + '>';
export default function (sodium: any) {
  sodium.ui.addDashboardWidget({ id: 'word', title: 'Word', size: 'small', render: async () => {
    const { word }: { word: string } = await (await fetch('/api/plugins/devloop/word')).json();
    return <p id="word">{shout(word)} / ${label}</p>;
  } });
}
`;
  started = Date.now();
  writeFileSync(join(plugin, 'client.tsx'), clientTsx('tsx v1'));
  rmSync(join(plugin, 'client.js'));
  await until(async () => (await word()) === 'FOUR! / tsx v1', 'client.tsx compiled', 8000);
  check(true, `client.tsx with an npm package is compiled on the fly (${Date.now() - started} ms)`);
  started = Date.now();
  writeFileSync(join(plugin, 'client.tsx'), clientTsx('tsx v2'));
  await until(async () => (await word()) === 'FOUR! / tsx v2', 'the client.tsx edit', 8000);
  check(true, `an edit to client.tsx shows (${Date.now() - started} ms)`);
  check(pageErrors.length === 0, `no errors in the page: ${pageErrors.join(' | ')}`);
} finally {
  await close();
  server.stop();
}
finish();
