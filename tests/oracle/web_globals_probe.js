// The same probe of web-standard globals, run in Node (the reference) and in
// a patchbay plugin (tests/unit/runtime_test.cc); the answers must match.
// In Node: node web_globals_probe.js   (prints the JSON answer)
function probe() {
  const urls = [
    ['https://user:pw@Example.COM:443/a/./b/../c?x=1&y=two%20words#frag'],
    ['http://example.com:8080'],
    ['HTTP://example.com/path with space?q=a b'],
    ['../up/file.js?z=1', 'https://example.com/a/b/c.html'],
    ['/rooted', 'https://example.com/a/b'],
    ['?only=query', 'https://example.com/a/b?old=1#h'],
    ['#only-hash', 'https://example.com/a/b?old=1'],
    ['//other.org/x', 'https://example.com/'],
    ['https://example.com/a/b/../../..'],
    ['mailto:someone@example.com'],
    ['https://[::1]:3000/ipv6'],
    ['not a url'],
    ['http://'],
    ['https://example.com:99999/'],
  ];
  const url = urls.map(([input, base]) => {
    try {
      const u = base === undefined ? new URL(input) : new URL(input, base);
      return { href: u.href, protocol: u.protocol, username: u.username, password: u.password, host: u.host, hostname: u.hostname,
        port: u.port, pathname: u.pathname, search: u.search, hash: u.hash, origin: u.origin };
    } catch (e) { return 'TypeError'; }
  });
  const p = new URLSearchParams('a=1&b=2&a=3&c=x+y&d=%26');
  p.append('e', 'f g');
  p.set('b', '9');
  p.delete('c');
  const params = { str: p.toString(), a: p.getAll('a'), d: p.get('d'), has: p.has('c'), entries: [...p] };
  const u = new URL('https://example.com/?q=1');
  u.searchParams.append('r', 'two words');
  const fromObject = new URLSearchParams({ x: '1', y: 'ä' }).toString();
  const texts = ['', 'plain ascii', 'häßlich', '日本語', '😀 emoji', 'lone \ud800 surrogate'];
  const encoded = texts.map((t) => Array.from(new TextEncoder().encode(t)));
  const decodedBack = encoded.map((b) => new TextDecoder().decode(new Uint8Array(b)));
  const invalid = [[0xff], [0xc3], [0xe2, 0x82], [0xed, 0xa0, 0x80], [0xef, 0xbb, 0xbf, 0x41], [0xf0, 0x9f, 0x98, 0x80]]
    .map((b) => new TextDecoder().decode(new Uint8Array(b)));
  let fatal;
  try { new TextDecoder('utf-8', { fatal: true }).decode(new Uint8Array([0xff])); fatal = 'decoded'; } catch (e) { fatal = e.constructor.name; }
  const base64 = [btoa(''), btoa('f'), btoa('fo'), btoa('foo'), btoa('\u00ff\u00fe'), atob('Zm9vYmFy'), atob(' Zm9v\n'), (() => { try { return atob('a'); } catch (e) { return 'error'; } })()];
  const original = { n: 1, d: new Date(0), m: new Map([[1, { a: [1, 2] }]]), s: new Set(['x']), r: /ab+c/gi, t: new Uint8Array([1, 2, 3]) };
  original.self = original;
  const copy = structuredClone(original);
  const clone = { distinct: copy !== original && copy.m !== original.m, cycle: copy.self === copy, date: copy.d.getTime(),
    map: copy.m.get(1).a, set: [...copy.s], regex: String(copy.r), bytes: Array.from(copy.t),
    fn: (() => { try { structuredClone(() => 1); return 'cloned'; } catch (e) { return 'threw'; } })() };
  return { url, params, searchParamsInUrl: u.href, fromObject, encoded, decodedBack, invalid, fatal, base64, clone };
}
if (typeof module !== 'undefined' && require.main === module) console.log(JSON.stringify(probe()));
if (typeof module !== 'undefined') module.exports = probe;
