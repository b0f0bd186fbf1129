// Web-standard globals plugins expect, written for patchbay's isolates (V8
// alone has none of them): URL, URLSearchParams, TextEncoder, TextDecoder,
// atob, btoa. structuredClone is native (V8's serializer) and installed by
// the prelude. A function of the global object; run before the prelude.
(function (global) {
  'use strict';

  // --- URLSearchParams ------------------------------------------------------
  const decode = (s) => decodeURIComponent(s.replace(/\+/g, ' '));
  const encode = (s) => encodeURIComponent(s).replace(/%20/g, '+').replace(/[!'()~]/g, (c) => '%' + c.charCodeAt(0).toString(16).toUpperCase());
  class URLSearchParams {
    #list = [];
    #onChange = null;
    constructor(init = '') {
      if (typeof init === 'string') {
        this.#parse(init);
      } else if (init instanceof URLSearchParams) {
        this.#list = init.#list.map(([k, v]) => [k, v]);
      } else if (init && typeof init[Symbol.iterator] === 'function') {
        for (const pair of init) {
          const [k, v] = [...pair];
          this.#list.push([String(k), String(v)]);
        }
      } else if (init && typeof init === 'object') {
        for (const [k, v] of Object.entries(init)) this.#list.push([String(k), String(v)]);
      }
    }
    #parse(s) {
      this.#list = [];
      for (const part of String(s).replace(/^\?/, '').split('&')) {
        if (!part) continue;
        const eq = part.indexOf('=');
        this.#list.push(eq < 0 ? [decode(part), ''] : [decode(part.slice(0, eq)), decode(part.slice(eq + 1))]);
      }
    }
    #changed() { if (this.#onChange) this.#onChange(this.toString()); }
    static _bind(params, query, onChange) { params.#parse(query); params.#onChange = onChange; }
    append(k, v) { this.#list.push([String(k), String(v)]); this.#changed(); }
    delete(k) { this.#list = this.#list.filter(([n]) => n !== String(k)); this.#changed(); }
    get(k) { const e = this.#list.find(([n]) => n === String(k)); return e ? e[1] : null; }
    getAll(k) { return this.#list.filter(([n]) => n === String(k)).map(([, v]) => v); }
    has(k) { return this.#list.some(([n]) => n === String(k)); }
    set(k, v) {
      const key = String(k);
      const i = this.#list.findIndex(([n]) => n === key);
      if (i < 0) this.#list.push([key, String(v)]);
      else this.#list = this.#list.filter(([n], j) => n !== key || j === i).map((e, j) => (e[0] === key ? [key, String(v)] : e));
      this.#changed();
    }
    sort() { this.#list.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0)); this.#changed(); }
    forEach(fn, thisArg) { for (const [k, v] of this.#list) fn.call(thisArg, v, k, this); }
    *entries() { for (const [k, v] of this.#list) yield [k, v]; }
    *keys() { for (const [k] of this.#list) yield k; }
    *values() { for (const [, v] of this.#list) yield v; }
    [Symbol.iterator]() { return this.entries(); }
    get size() { return this.#list.length; }
    toString() { return this.#list.map(([k, v]) => encode(k) + '=' + encode(v)).join('&'); }
  }

  // --- URL --------------------------------------------------------------------
  // Percent-encodes what the WHATWG URL standard encodes in each part;
  // existing %XX escapes stay as they are.
  const PATH_SET = /[\u0000-\u0020"#<>?`{}\u007f-\uffff]/;
  const QUERY_SET = /[\u0000-\u0020"#<>'\u007f-\uffff]/;
  const FRAGMENT_SET = /[\u0000-\u0020"<>`\u007f-\uffff]/;
  function pct(s, set) {
    let out = '';
    for (const ch of s) {
      if (!set.test(ch)) out += ch;
      else if (ch.charCodeAt(0) < 0x80) out += '%' + ch.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0');
      else { try { out += encodeURIComponent(ch); } catch { out += '%EF%BF%BD'; } }
    }
    return out;
  }
  const special = { 'http:': '80', 'https:': '443', 'ws:': '80', 'wss:': '443', 'ftp:': '21', 'file:': '' };
  function normalizePath(path) {
    const out = [];
    for (const seg of path.split('/')) {
      if (seg === '..') { if (out.length > 1) out.pop(); }
      else if (seg !== '.') out.push(seg);
    }
    let p = out.join('/');
    if (/\/\.\.?$/.test(path)) p += '/';
    return p.startsWith('/') ? p : '/' + p;
  }
  class URL {
    #protocol = ''; #username = ''; #password = ''; #hostname = ''; #port = ''; #pathname = '/'; #search = ''; #hash = '';
    #params = new URLSearchParams();
    constructor(input, base) {
      let s = String(input).trim();
      const scheme = /^([a-zA-Z][a-zA-Z0-9+.-]*):/.exec(s);
      if (!scheme) {
        if (base === undefined) throw new TypeError(`Invalid URL: ${s}`);
        const b = base instanceof URL ? base : new URL(base);
        this.#protocol = b.protocol; this.#username = b.username; this.#password = b.password;
        this.#hostname = b.hostname; this.#port = b.port;
        if (s.startsWith('//')) { this.#parseAuthority(s.slice(2)); return; }
        const hashAt = s.indexOf('#');
        if (hashAt >= 0) { this.#hash = s.slice(hashAt) === '#' ? '' : s.slice(hashAt); s = s.slice(0, hashAt); }
        const queryAt = s.indexOf('?');
        let path = queryAt >= 0 ? s.slice(0, queryAt) : s;
        this.#search = queryAt >= 0 ? (s.slice(queryAt) === '?' ? '' : s.slice(queryAt)) : (path === '' ? b.search : '');
        if (path === '') path = b.pathname;
        else if (!path.startsWith('/')) path = b.pathname.replace(/[^/]*$/, '') + path;
        this.#pathname = pct(normalizePath(path), PATH_SET);
        this.#search = pct(this.#search, QUERY_SET);
        this.#hash = pct(this.#hash, FRAGMENT_SET);
        this.#bindParams();
        return;
      }
      this.#protocol = scheme[1].toLowerCase() + ':';
      let rest = s.slice(scheme[0].length);
      if (this.#protocol in special) {
        rest = rest.replace(/^[\\/]*/, '');
        this.#parseAuthority(rest);
        if (!this.#hostname && this.#protocol !== 'file:') throw new TypeError(`Invalid URL: ${s}`);
      } else {
        const hashAt = rest.indexOf('#');
        if (hashAt >= 0) { this.#hash = rest.slice(hashAt); rest = rest.slice(0, hashAt); }
        const queryAt = rest.indexOf('?');
        if (queryAt >= 0) { this.#search = rest.slice(queryAt); rest = rest.slice(0, queryAt); }
        this.#pathname = rest;
        this.#bindParams();
      }
    }
    #parseAuthority(s) {
      const end = s.search(/[/?#\\]/);
      const authority = end < 0 ? s : s.slice(0, end);
      let rest = end < 0 ? '' : s.slice(end).replace(/\\/g, '/');
      const at = authority.lastIndexOf('@');
      const hostPort = at >= 0 ? authority.slice(at + 1) : authority;
      if (at >= 0) {
        const cred = authority.slice(0, at);
        const colon = cred.indexOf(':');
        this.#username = colon < 0 ? cred : cred.slice(0, colon);
        this.#password = colon < 0 ? '' : cred.slice(colon + 1);
      }
      const m = /^(\[[^\]]*\]|[^:]*)(?::(\d*))?$/.exec(hostPort);
      if (!m) throw new TypeError(`Invalid URL host: ${hostPort}`);
      this.#hostname = m[1].toLowerCase();
      if (/[\s<>^|%]/.test(this.#hostname)) throw new TypeError(`Invalid URL host: ${hostPort}`);
      const port = m[2] || '';
      if (port && Number(port) > 65535) throw new TypeError(`Invalid URL port: ${port}`);
      this.#port = port === special[this.#protocol] ? '' : port.replace(/^0+(?=\d)/, '');
      const hashAt = rest.indexOf('#');
      if (hashAt >= 0) { this.#hash = rest.slice(hashAt) === '#' ? '' : rest.slice(hashAt); rest = rest.slice(0, hashAt); }
      const queryAt = rest.indexOf('?');
      if (queryAt >= 0) { this.#search = rest.slice(queryAt) === '?' ? '' : rest.slice(queryAt); rest = rest.slice(0, queryAt); }
      this.#pathname = pct(normalizePath(rest || '/'), PATH_SET);
      this.#search = pct(this.#search, QUERY_SET);
      this.#hash = pct(this.#hash, FRAGMENT_SET);
      this.#bindParams();
    }
    #bindParams() {
      URLSearchParams._bind(this.#params, this.#search, (q) => { this.#search = q ? '?' + q : ''; });
    }
    get protocol() { return this.#protocol; }
    get username() { return this.#username; }
    get password() { return this.#password; }
    get hostname() { return this.#hostname; }
    get port() { return this.#port; }
    get host() { return this.#hostname + (this.#port ? ':' + this.#port : ''); }
    get origin() { return this.#protocol in special && this.#protocol !== 'file:' ? this.#protocol + '//' + this.host : 'null'; }
    get pathname() { return this.#pathname; }
    set pathname(v) { this.#pathname = normalizePath(String(v)); }
    get search() { return this.#search; }
    set search(v) { const q = String(v).replace(/^\?/, ''); this.#search = q ? '?' + q : ''; this.#bindParams(); }
    get searchParams() { return this.#params; }
    get hash() { return this.#hash; }
    set hash(v) { const h = String(v).replace(/^#/, ''); this.#hash = h ? '#' + h : ''; }
    get href() {
      if (!(this.#protocol in special)) return this.#protocol + this.#pathname + this.#search + this.#hash;
      const cred = this.#username ? this.#username + (this.#password ? ':' + this.#password : '') + '@' : '';
      return this.#protocol + '//' + cred + this.host + this.#pathname + this.#search + this.#hash;
    }
    toString() { return this.href; }
    toJSON() { return this.href; }
    static canParse(input, base) { try { new URL(input, base); return true; } catch { return false; } }
  }

  // --- TextEncoder / TextDecoder (UTF-8) --------------------------------------
  class TextEncoder {
    get encoding() { return 'utf-8'; }
    encode(input = '') {
      const s = String(input);
      const out = [];
      for (let i = 0; i < s.length; i++) {
        let c = s.charCodeAt(i);
        if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
          const d = s.charCodeAt(i + 1);
          if (d >= 0xdc00 && d <= 0xdfff) { c = 0x10000 + ((c - 0xd800) << 10) + (d - 0xdc00); i++; }
          else c = 0xfffd;
        } else if (c >= 0xd800 && c <= 0xdfff) {
          c = 0xfffd;
        }
        if (c < 0x80) out.push(c);
        else if (c < 0x800) out.push(0xc0 | (c >> 6), 0x80 | (c & 63));
        else if (c < 0x10000) out.push(0xe0 | (c >> 12), 0x80 | ((c >> 6) & 63), 0x80 | (c & 63));
        else out.push(0xf0 | (c >> 18), 0x80 | ((c >> 12) & 63), 0x80 | ((c >> 6) & 63), 0x80 | (c & 63));
      }
      return new Uint8Array(out);
    }
  }
  class TextDecoder {
    #fatal;
    constructor(label = 'utf-8', options = {}) {
      if (!/^utf-?8$/i.test(String(label))) throw new RangeError(`TextDecoder: only utf-8 is supported, not "${label}"`);
      this.#fatal = Boolean(options.fatal);
    }
    get encoding() { return 'utf-8'; }
    decode(input) {
      if (input === undefined) return '';
      const b = input instanceof Uint8Array ? input : ArrayBuffer.isView(input) ? new Uint8Array(input.buffer, input.byteOffset, input.byteLength) : new Uint8Array(input);
      // The WHATWG UTF-8 decoder: one U+FFFD per maximal invalid subpart.
      let out = '';
      const bad = () => { if (this.#fatal) throw new TypeError('TextDecoder: invalid UTF-8'); return '\ufffd'; };
      let needed = 0, seen = 0, cp = 0, lower = 0x80, upper = 0xbf;
      for (let i = 0; i < b.length; i++) {
        const byte = b[i];
        if (needed === 0) {
          if (byte <= 0x7f) out += String.fromCharCode(byte);
          else if (byte >= 0xc2 && byte <= 0xdf) { needed = 1; cp = byte & 0x1f; }
          else if (byte >= 0xe0 && byte <= 0xef) { if (byte === 0xe0) lower = 0xa0; if (byte === 0xed) upper = 0x9f; needed = 2; cp = byte & 0xf; }
          else if (byte >= 0xf0 && byte <= 0xf4) { if (byte === 0xf0) lower = 0x90; if (byte === 0xf4) upper = 0x8f; needed = 3; cp = byte & 0x7; }
          else out += bad();
          continue;
        }
        if (byte < lower || byte > upper) {
          needed = seen = cp = 0; lower = 0x80; upper = 0xbf;
          out += bad();
          i--;  // the byte starts over
          continue;
        }
        lower = 0x80; upper = 0xbf;
        cp = (cp << 6) | (byte & 0x3f);
        if (++seen === needed) { out += String.fromCodePoint(cp); needed = seen = cp = 0; }
      }
      if (needed) out += bad();
      if (out.charCodeAt(0) === 0xfeff) out = out.slice(1);
      return out;
    }
  }

  // --- base64 -----------------------------------------------------------------
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
  function btoa(input) {
    const s = String(input);
    let out = '';
    for (let i = 0; i < s.length; i += 3) {
      const a = s.charCodeAt(i), b = s.charCodeAt(i + 1), c = s.charCodeAt(i + 2);
      if (a > 255 || b > 255 || c > 255) throw new TypeError('btoa: the string has characters outside Latin-1');
      const n = (a << 16) | ((b || 0) << 8) | (c || 0);
      out += alphabet[n >> 18] + alphabet[(n >> 12) & 63] + (i + 1 < s.length ? alphabet[(n >> 6) & 63] : '=') + (i + 2 < s.length ? alphabet[n & 63] : '=');
    }
    return out;
  }
  function atob(input) {
    const s = String(input).replace(/[\t\n\f\r ]/g, '');
    if (s.length % 4 === 1 || /[^A-Za-z0-9+/=]/.test(s) || /=[^=]/.test(s)) throw new TypeError('atob: not valid base64');
    let out = '';
    let bits = 0, value = 0;
    for (const ch of s.replace(/=+$/, '')) {
      value = (value << 6) | alphabet.indexOf(ch);
      bits += 6;
      if (bits >= 8) { bits -= 8; out += String.fromCharCode((value >> bits) & 255); }
    }
    return out;
  }

  for (const [name, value] of Object.entries({ URL, URLSearchParams, TextEncoder, TextDecoder, atob, btoa })) {
    Object.defineProperty(global, name, { value, writable: true, configurable: true, enumerable: false });
  }
})
