// The plugin side of patchbay's runtime, run in every plugin's context
// before its module. It is a function of the native bindings; it installs
// the web-style globals, builds the `sodium` API object and returns the
// entry points the C++ side calls. The bindings stay in this closure: no
// plugin code can reach them.
(function (native) {
  'use strict';
  const { stringify, parse } = JSON;
  const freeze = Object.freeze;
  const toJson = (value) => (value === undefined ? 'null' : stringify(value));

  // --- logging --------------------------------------------------------------
  function format(args) {
    return args.map((a) => {
      if (typeof a === 'string') return a;
      if (a instanceof Error) return a.stack || String(a);
      try { const s = stringify(a); return s === undefined ? String(a) : s; } catch { return String(a); }
    }).join(' ');
  }
  // Lines are cut at 16 KiB (a log is for people; the host keeps 200 lines).
  const kMaxLine = 16384;
  const line = (a) => { const text = format(a); return text.length > kMaxLine ? `${text.slice(0, kMaxLine)}… (${text.length} characters, cut)` : text; };
  const logger = freeze({
    debug: (...a) => native.log('debug', line(a)),
    info: (...a) => native.log('info', line(a)),
    warn: (...a) => native.log('warn', line(a)),
    error: (...a) => native.log('error', line(a)),
  });
  globalThis.console = freeze({ log: logger.info, info: logger.info, debug: logger.debug, warn: logger.warn, error: logger.error, trace: logger.debug });

  // --- builtins that allocate without stopping -----------------------------
  // A task is terminated (CPU deadline, heap limit) between JavaScript steps;
  // a few builtins do all their work in one step. Array.prototype.fill on a
  // sparse array of 1e8 ran 100 s and took 7 GB before it returned, and
  // String.prototype.split of a 2^28-character rope made V8 abort the whole
  // process ("invalid array length"). Their input is bounded here instead:
  // nothing a plugin can hold in its heap is refused.
  function guardBuiltin(proto, name, check) {
    const original = proto[name];
    const wrapped = { [name](...args) { check(this); return original.apply(this, args); } }[name];
    Object.defineProperty(wrapped, 'length', { value: original.length });
    Object.defineProperty(proto, name, { value: wrapped, writable: true, enumerable: false, configurable: true });
  }
  const maxElements = Math.floor(native.heapBytes / 8);  // more than fit in the heap
  guardBuiltin(Array.prototype, 'fill', (array) => {
    if (array != null && Number(array.length) > maxElements) {
      throw new RangeError(`Array.prototype.fill: ${array.length} elements are more than this plugin's heap holds`);
    }
  });
  guardBuiltin(String.prototype, 'split', (text) => {
    if (typeof text === 'string' && text.length > 2 ** 26) throw new RangeError(`String.prototype.split: a string of ${text.length} characters is too long to split`);
  });

  // --- timers ---------------------------------------------------------------
  const timers = new Map();
  let nextTimer = 1;
  function schedule(fn, ms, args, repeat) {
    if (typeof fn !== 'function') throw new TypeError('the callback must be a function');
    const id = nextTimer++;
    const delay = Math.max(0, Number(ms) || 0);
    native.setTimer(id, delay, repeat);  // throws when too many are pending
    timers.set(id, { fn, args, repeat, delay });
    return id;
  }
  globalThis.setTimeout = (fn, ms, ...args) => schedule(fn, ms, args, false);
  globalThis.setInterval = (fn, ms, ...args) => schedule(fn, ms, args, true);
  globalThis.clearTimeout = globalThis.clearInterval = (id) => {
    if (timers.delete(id)) native.clearTimer(id);
  };
  globalThis.queueMicrotask = (fn) => { Promise.resolve().then(fn); };
  globalThis.crypto = freeze({ randomUUID: () => native.randomUUID() });
  globalThis.structuredClone = (value) => native.structuredClone(value);

  // --- db -------------------------------------------------------------------
  const db = freeze({
    registerCollections: (names) => parse(native.db('registerCollections', '', toJson(names), 'null')),
    find: (coll, query) => parse(native.db('find', String(coll), toJson(query ?? {}), 'null')),
    findOne: (coll, query) => parse(native.db('findOne', String(coll), toJson(query ?? {}), 'null')),
    count: (coll, query) => parse(native.db('count', String(coll), toJson(query ?? {}), 'null')),
    insert: (coll, record) => {
      const stored = parse(native.db('insert', String(coll), toJson(record), 'null'));
      if (record !== null && typeof record === 'object' && !record.id) record.id = stored.id;  // as Sodium's: the caller's record gets its id
      return stored;
    },
    update: (coll, id, partial) => parse(native.db('update', String(coll), toJson(id), toJson(partial))),
    delete: (coll, id) => parse(native.db('delete', String(coll), toJson(id), 'null')),
    sql: (query, params) => parse(native.db('sql', '', toJson(String(query)), toJson(params ?? []))),
  });

  // --- http: an Express-style router ----------------------------------------
  let routes = [];
  // `prefix`: the path and everything below it (router.use).
  function compilePath(path, prefix = false) {
    if (typeof path !== 'string' || !path.startsWith('/')) throw new TypeError(`a route path must start with "/": ${path}`);
    const names = [];
    const pattern = path.replace(/\/+$/, '').split('/').map((segment) => {
      if (segment.startsWith(':')) { names.push(segment.slice(1)); return '([^/]+)'; }
      if (segment === '*') { names.push('0'); return '(.*)'; }
      return segment.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    }).join('/');
    return { regex: new RegExp(prefix ? `^${pattern}(?:/.*)?$` : `^${pattern}/?$`), names };
  }
  const methods = ['get', 'post', 'put', 'patch', 'delete', 'head', 'options'];
  function makeRouter(list) {
    const push = (method, compiled, path, handlers, middleware = false) => {
      for (const handler of handlers.flat()) {
        if (typeof handler !== 'function') throw new TypeError(`${method} ${path}: a handler must be a function`);
        list.push({ method, regex: compiled.regex, names: compiled.names, handler, middleware });
      }
    };
    const add = (method) => (path, ...handlers) => { push(method, compilePath(path), path, handlers); return router; };
    const router = { all: add('*') };
    for (const m of methods) router[m] = add(m.toUpperCase());
    // router.use([path,] ...fns): middleware for the path and below it (all of them without one).
    router.use = (first, ...rest) => {
      const path = typeof first === 'string' ? first : '/';
      const handlers = typeof first === 'string' ? rest : [first, ...rest];
      push('*', compilePath(path, true), path, handlers, true);
      return router;
    };
    // router.route(path).get(fn).post(fn)
    router.route = (path) => {
      const compiled = compilePath(path);
      const chain = {};
      for (const m of [...methods, 'all']) chain[m] = (...handlers) => { push(m === 'all' ? '*' : m.toUpperCase(), compiled, path, handlers); return chain; };
      return freeze(chain);
    };
    return freeze(router);
  }
  // http.addMiddleware(fn): (req, res, next) before every one of this
  // plugin's routes (only this plugin's: another plugin's routes are its own).
  let middlewares = [];
  const everything = { regex: /^/, names: [] };
  const http = freeze({
    registerRoutes(fn) {
      if (typeof fn !== 'function') throw new TypeError('registerRoutes takes a function (router) => { ... }');
      const list = [];
      fn(makeRouter(list));
      routes = list;  // calling it again replaces the router
      native.routesChanged(list.length);
    },
    addMiddleware(fn) {
      if (typeof fn !== 'function') throw new TypeError('http.addMiddleware takes a function (req, res, next) => { ... }');
      middlewares = [...middlewares, { method: '*', ...everything, handler: fn, middleware: true }];
    },
  });

  // What HTTP can carry, checked where the plugin sets it (as Node does):
  // a header name is a token, a value has no CR, LF or NUL (which would let
  // a request's text write headers of its own), a status is final.
  const tokenPattern = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
  const badValuePattern = /[\x00-\x08\x0a-\x1f\x7f]/;
  function checkedHeader(name, value) {
    const n = String(name);
    if (!tokenPattern.test(n)) throw new TypeError(`Invalid header name: ${JSON.stringify(n)}`);
    const v = String(value);
    if (badValuePattern.test(v)) throw new TypeError(`Invalid character (a control character: CR, LF, NUL, ...) in the value of header "${n}"`);
    return [n.toLowerCase(), v];
  }
  const isBytes = (value) => value instanceof ArrayBuffer || ArrayBuffer.isView(value);
  function makeResponse(finish) {
    const res = {
      statusCode: 200, headers: {}, sent: false,
      status(code) {
        const n = Number(code);
        if (!Number.isInteger(n) || n < 200 || n > 599) throw new RangeError(`Invalid status code: ${code} (a route answers 200-599)`);
        res.statusCode = n;
        return res;
      },
      set(name, value) {
        if (typeof name === 'object') { for (const [k, v] of Object.entries(name)) res.set(k, v); return res; }
        const [k, v] = checkedHeader(name, value);
        res.headers[k] = v;
        return res;
      },
      header(name, value) { return res.set(name, value); },
      json(value) {
        if (!res.headers['content-type']) res.headers['content-type'] = 'application/json; charset=utf-8';
        return finish(toJson(value));
      },
      send(value) {
        if (isBytes(value)) {
          if (!res.headers['content-type']) res.headers['content-type'] = 'application/octet-stream';
          return finish(value);
        }
        if (value !== null && typeof value === 'object') return res.json(value);
        if (!res.headers['content-type']) res.headers['content-type'] = 'text/html; charset=utf-8';
        return finish(value === undefined ? '' : String(value));
      },
      end(value) { return finish(value === undefined ? '' : isBytes(value) ? value : String(value)); },
      type(type) {
        const t = String(type);
        return res.set('content-type', contentTypes[t.replace(/^\./, '')] || (t.includes('/') ? t : 'application/octet-stream'));
      },
      sendStatus(code) {
        res.status(code);
        if (!res.headers['content-type']) res.headers['content-type'] = 'text/plain; charset=utf-8';
        return finish(statusTexts[res.statusCode] || String(res.statusCode));
      },
      redirect(a, b) {
        const [code, location] = b === undefined ? [302, a] : [a, b];
        res.status(code).set('location', String(location));
        if (!res.headers['content-type']) res.headers['content-type'] = 'text/plain; charset=utf-8';
        return finish(`${statusTexts[res.statusCode] || 'Redirecting'}. Redirecting to ${location}`);
      },
    };
    return res;
  }
  const contentTypes = { json: 'application/json; charset=utf-8', html: 'text/html; charset=utf-8', text: 'text/plain; charset=utf-8',
    txt: 'text/plain; charset=utf-8', js: 'text/javascript; charset=utf-8', css: 'text/css; charset=utf-8', xml: 'application/xml',
    csv: 'text/csv; charset=utf-8', png: 'image/png', svg: 'image/svg+xml', bin: 'application/octet-stream' };
  const statusTexts = { 200: 'OK', 201: 'Created', 202: 'Accepted', 204: 'No Content', 301: 'Moved Permanently', 302: 'Found',
    303: 'See Other', 304: 'Not Modified', 307: 'Temporary Redirect', 308: 'Permanent Redirect', 400: 'Bad Request',
    401: 'Unauthorized', 403: 'Forbidden', 404: 'Not Found', 405: 'Method Not Allowed', 409: 'Conflict', 410: 'Gone',
    413: 'Payload Too Large', 422: 'Unprocessable Entity', 429: 'Too Many Requests', 500: 'Internal Server Error',
    501: 'Not Implemented', 502: 'Bad Gateway', 503: 'Service Unavailable', 504: 'Gateway Timeout' };

  // application/x-www-form-urlencoded as Express's urlencoded parser gives
  // it: an object, a key given more than once an array.
  function parseForm(text) {
    const out = {};
    for (const part of text.split('&')) {
      if (!part) continue;
      const eq = part.indexOf('=');
      const decode = (t) => { try { return decodeURIComponent(t.replace(/\+/g, ' ')); } catch { return t; } };
      const key = decode(eq < 0 ? part : part.slice(0, eq)), value = decode(eq < 0 ? '' : part.slice(eq + 1));
      if (!Object.prototype.hasOwnProperty.call(out, key)) out[key] = value;
      else if (Array.isArray(out[key])) out[key].push(value);
      else out[key] = [out[key], value];
    }
    return out;
  }

  // A route's answer: the status and headers as JSON, the body apart (a
  // JSON body is not escaped into the envelope and parsed out again).
  function answer(ticket, status, headers, body) {
    native.done(ticket, true, stringify({ status, headers }), body);
  }
  const jsonType = { 'content-type': 'application/json; charset=utf-8' };

  // The body comes apart from the request's JSON: a string for text (JSON
  // parsed below), a Uint8Array for bytes (a body that is not text).
  async function dispatch(ticket, requestJson, rawBody) {
    const raw = parse(requestJson);
    raw.body = rawBody;
    let sent = null;
    const res = makeResponse((body) => {
      if (!sent) sent = { status: res.statusCode, headers: res.headers, body };
      res.sent = true;
      return res;
    });
    try {
      let body = raw.body;
      const type = String(raw.headers['content-type'] || '').toLowerCase();
      if (typeof body === 'string' && body.length && type.includes('json')) {
        try { body = parse(body); } catch { answer(ticket, 400, jsonType, stringify({ error: 'the request body is not valid JSON' })); return; }
      } else if (typeof body === 'string' && type.startsWith('application/x-www-form-urlencoded')) {
        body = parseForm(body);
      }
      const matching = [...middlewares, ...routes].filter((r) => (r.method === raw.method || r.method === '*' || (raw.method === 'HEAD' && r.method === 'GET')) && r.regex.test(raw.path));
      const header = (name) => raw.headers[String(name).toLowerCase()];
      const req = { method: raw.method, path: raw.path, url: raw.url, originalUrl: raw.url, params: {}, query: raw.query, headers: raw.headers,
        body, user: raw.user, ip: raw.ip, get: header, header };
      let index = 0;
      let unanswered = false;  // the chain ran past its last handler
      const next = async (err) => {
        if (err) throw err;
        const route = matching[index++];
        if (!route) { unanswered = true; return undefined; }
        const m = route.regex.exec(raw.path);
        req.params = {};
        route.names.forEach((name, i) => { req.params[name] = decodeURIComponent(m[i + 1]); });
        const value = await route.handler(req, res, next);
        if (!sent && value !== undefined && !res.sent) res.send(value);
        return value;
      };
      if (!matching.some((r) => !r.middleware)) {
        // No route: the plugin's middleware still runs (as Express's), then 404.
        if (matching.length) await next();
        if (!sent) res.status(404).json({ error: `Cannot ${raw.method} ${raw.path}` });
      } else {
        await next();
        if (!sent && unanswered) res.status(404).json({ error: `Cannot ${raw.method} ${raw.path}` });
        if (!sent) res.status(res.statusCode === 200 ? 204 : res.statusCode).end();
      }
      answer(ticket, sent.status, sent.headers, sent.body);
    } catch (e) {
      logger.error(`${raw.method} ${raw.path}:`, e);
      answer(ticket, 500, jsonType, stringify({ error: 'Internal plugin error', message: String(e && e.message || e) }));
    }
  }

  // --- hooks ----------------------------------------------------------------
  const hookHandlers = new Map();
  let nextHandler = 1;
  const hooks = freeze({
    on(event, handler, priority) {
      if (typeof handler !== 'function') throw new TypeError(`hooks.on("${event}"): the handler must be a function`);
      let p = priority;
      if (p !== null && typeof p === 'object') p = p.priority;
      p = p === undefined ? 10 : Number(p);
      if (!Number.isFinite(p)) throw new TypeError(`hooks.on("${event}"): priority must be a number`);
      const id = nextHandler++;
      if (!native.registerHook(String(event), p, id)) return false;  // not declared: the runtime warned
      hookHandlers.set(id, handler);
      return true;
    },
  });
  // One context travels the chain (see src/runtime/hook_context.h). It comes
  // as its shape ({build, same}, compiled once per isolate) and the shape's
  // values, or as JSON text when shape is undefined. As in Sodium's hooks.js
  // the handler sees _denied, _denyReason and deny(reason), in every hook.
  // The answer: '' (went on, untouched), the context (went on, changed: '{...'),
  // or 'X' + {denied?, error?} + ('\n' + context when changed). A
  // synchronous handler's answer is returned (no call back into C++), and
  // when its shape's delta can list what it changed, it is that list
  // instead: [answer without the context, i or key, value, ...]. An async
  // one's answer comes through native.done when it settles, as text.
  function runHook(ticket, handlerId, shape, ...values) {
    const handler = hookHandlers.get(handlerId);
    let ctx;
    if (shape !== undefined) {
      ctx = shape.build(values);  // with _denied, _denyReason and deny
    } else {
      try {
        ctx = parse(values[0]);
      } catch (e) {
        native.done(ticket, false, `the hook context is not JSON: ${e && e.message || e}`);
        return;
      }
      if (ctx === null || typeof ctx !== 'object' || Array.isArray(ctx)) {
        native.done(ticket, false, 'the hook context is not a JSON object');
        return;
      }
      // Plain assignments: V8 caches the shape transitions, where
      // Object.defineProperty took a slow path on every emit.
      ctx._denied = false;
      ctx._denyReason = null;
      ctx.deny = (reason) => {
        ctx._denied = true;
        ctx._denyReason = reason;
      };
    }
    let result;
    try {
      result = handler ? handler(ctx) : undefined;
    } catch (e) {
      return hookAnswer(ctx, shape, values, e);
    }
    // A synchronous handler is answered at once; an async one when it settles
    // (its callbacks made only then: most handlers are synchronous).
    if (result !== null && typeof result === 'object' && typeof result.then === 'function') {
      result.then(() => native.done(ticket, true, hookAnswer(ctx, shape, values, undefined, false)),
                  (e) => native.done(ticket, true, hookAnswer(ctx, shape, values, e, false)));
      return undefined;
    }
    // Most handlers leave the context as it was: answered here, the rest
    // (kept out of this function, which V8 inlines whole) in hookAnswer.
    if (shape === undefined) return hookAnswer(ctx, shape, values, undefined, true);
    const unchanged = shape.same(ctx, values);
    if (unchanged && !ctx._denied) return '';
    return hookAnswer(ctx, shape, values, undefined, true, unchanged);
  }
  function hookAnswer(ctx, shape, values, error, listed = true, unchanged = undefined) {
    let changed, delta;
    try {
      if (shape === undefined || !(unchanged ?? shape.same(ctx, values))) {
        if (listed && shape !== undefined) delta = shape.delta(ctx, values);
        if (delta === undefined) {
          const { deny, _denied, _denyReason, ...rest } = ctx;
          changed = stringify(rest);
          if (changed === undefined) throw new TypeError('it is not an object');
        }
      }
    } catch (e) {
      changed = delta = undefined;
      if (error === undefined) error = new TypeError(`the context it left is not JSON (${e && e.message || e}); the next handler gets it as it came`);
    }
    if (error === undefined && !ctx._denied) {
      if (delta !== undefined) return delta.length > 1 ? delta : '';
      return changed === undefined ? '' : changed;  // '{...}', no copy
    }
    const what = {};
    if (error !== undefined) {
      logger.error('hook handler failed:', error);
      what.error = String(error && error.message || error);
    } else {
      const reason = ctx._denyReason;
      what.denied = reason === undefined || reason === null ? '' : String(reason);
    }
    const answer = 'X' + stringify(what);
    if (delta !== undefined && delta.length > 1) {
      delta[0] = answer;
      return delta;
    }
    return answer + (changed === undefined ? '' : '\n' + changed);
  }

  // --- cron -----------------------------------------------------------------
  const cronHandlers = new Map();
  const cron = freeze({
    register(id, schedule, handler) {
      if (typeof handler !== 'function') throw new TypeError(`cron.register("${id}"): the handler must be a function`);
      native.registerCron(String(id), String(schedule));  // throws on a bad schedule
      cronHandlers.set(String(id), handler);
    },
  });
  // The handler gets the minute its run is for (as node-cron passes its
  // `now`): the same in whichever process runs the slot, late or not.
  async function runCron(ticket, id, minuteMs) {
    try {
      const handler = cronHandlers.get(id);
      if (handler) await handler(new Date(minuteMs));
      native.done(ticket, true, 'null');
    } catch (e) {
      logger.error(`cron job "${id}" failed:`, e);
      native.done(ticket, false, toJson(String(e && e.message || e)));
    }
  }

  // --- ui, plugins ----------------------------------------------------------
  const check = (fields, what) => (item) => {
    if (item === null || typeof item !== 'object') throw new TypeError(`${what} takes an object`);
    for (const f of fields) if (item[f] === undefined) throw new TypeError(`${what}: "${f}" is required`);
    return item;
  };
  // Pages by path: seed 004's object ({path: page}) or Sodium's array (each
  // keyed by its path, else its id).
  function pagesByPath(pages, what) {
    if (!Array.isArray(pages)) return pages;
    const map = {};
    for (const page of pages) {
      if (page === null || typeof page !== 'object') throw new TypeError(`${what} takes page objects`);
      const key = page.path ?? page.id;
      if (key === undefined) throw new TypeError(`${what}: a page needs a "path" or an "id"`);
      map[String(key)] = page;
    }
    return map;
  }
  // Seed 004's sidebar items have no id: one is made from the link or the
  // label ("/billing" -> "billing"), unique within the plugin.
  const sidebarIds = new Set();
  function withId(item) {
    if (item.id !== undefined) { sidebarIds.add(String(item.id)); return item; }
    const base = String(item.href ?? item.label).toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-+|-+$/g, '') || 'item';
    let id = base;
    for (let n = 2; sidebarIds.has(id); n++) id = `${base}-${n}`;
    sidebarIds.add(id);
    return { ...item, id };
  }
  const ui = freeze({
    registerPages: (pages) => native.ui('pages', toJson(pagesByPath(pages, 'ui.registerPages'))),
    addPage: (page) => native.ui('pages', toJson(pagesByPath([page], 'ui.addPage'))),
    addAdminPage: (page) => native.ui('adminPages', toJson(check([], 'ui.addAdminPage')(page))),
    addSidebarItem: (item) => native.ui('sidebarItems', toJson(withId(check(['label'], 'ui.addSidebarItem')(item)))),
    addServerTab: (item) => native.ui('serverTabs', toJson(check(['id', 'label'], 'ui.addServerTab')(item))),
    addDashboardWidget: (item) => {
      check(['id', 'title'], 'ui.addDashboardWidget')(item);
      if (item.size !== undefined && !['small', 'medium', 'large'].includes(item.size)) throw new TypeError('ui.addDashboardWidget: size must be small, medium or large');
      return native.ui('dashboardWidgets', toJson(item));
    },
    addAdminTab: (item) => native.ui('adminTabs', toJson(check(['id', 'label'], 'ui.addAdminTab')(item))),
  });
  // Sodium's config: free key/values (the manifest's settings validated and
  // defaulted); a key with no value and no default reads as undefined, and
  // setting undefined removes a key (JSON.stringify drops it in Sodium too).
  const config = freeze({
    get(key) {
      const value = native.config('get', String(key));
      return value === undefined ? undefined : parse(value);
    },
    set(key, value) {
      const text = value === undefined ? undefined : stringify(value);
      native.config('set', String(key), text);  // (a function or symbol stringifies to undefined too)
    },
    getAll: () => parse(native.config('getAll')),
  });

  let exported = {};
  async function callMethod(ticket, name, argsJson) {
    try {
      const fn = exported && Object.prototype.hasOwnProperty.call(exported, name) ? exported[name] : undefined;
      if (typeof fn !== 'function') throw new Error(`Plugin "${native.pluginId}" has no method "${name}"`);
      const value = await fn(...parse(argsJson));
      native.done(ticket, true, toJson(value));
    } catch (e) {
      native.done(ticket, false, toJson(String(e && e.message || e)));
    }
  }

  function fireTimer(id) {
    const t = timers.get(id);
    if (!t) return;
    if (!t.repeat) timers.delete(id);
    t.fn(...t.args);
  }

  // --- plugins.call: synchronous, JSON-copied, run in the callee's isolate ---
  const plugins = freeze({
    call: (pluginId, method, ...args) => parse(native.callPlugin(String(pluginId), String(method), toJson(args))),
  });

  // --- fetch: outbound HTTP, off this thread, only when granted ---------------
  function makeHeaders(pairs) {
    const map = new Map(pairs.map(([k, v]) => [k.toLowerCase(), v]));
    return freeze({ get: (k) => map.get(String(k).toLowerCase()) ?? null, has: (k) => map.has(String(k).toLowerCase()),
      forEach: (fn) => map.forEach((v, k) => fn(v, k)), entries: () => map.entries() });
  }
  const pendingFetches = new Map();
  let nextFetch = 1;
  globalThis.fetch = (input, init = {}) => new Promise((resolve, reject) => {
    const url = typeof input === 'string' ? input : String(input && input.url || input);
    const headers = [];
    const given = init.headers || {};
    if (typeof given.forEach === 'function' && !Array.isArray(given)) given.forEach((v, k) => headers.push([String(k), String(v)]));
    else for (const [k, v] of (Array.isArray(given) ? given : Object.entries(given))) headers.push([String(k), String(v)]);
    const body = init.body === undefined || init.body === null ? '' : String(init.body);
    const id = nextFetch++;
    pendingFetches.set(id, { resolve, reject });
    try {
      native.fetch(id, url, String(init.method || 'GET').toUpperCase(), toJson(headers), body);
    } catch (e) {
      pendingFetches.delete(id);
      reject(e);
    }
  });
  function fetchDone(id, ok, resultJson) {
    const pending = pendingFetches.get(id);
    if (!pending) return;
    pendingFetches.delete(id);
    const r = parse(resultJson);
    if (!ok) { pending.reject(new TypeError(`fetch failed: ${r}`)); return; }
    const text = r.body;
    pending.resolve(freeze({
      ok: r.status >= 200 && r.status < 300, status: r.status, statusText: r.statusText || '', url: r.url,
      headers: makeHeaders(r.headers), text: async () => text, json: async () => parse(text),
    }));
  }

  // --- data: the panel's records (users:read, servers:read, nodes:read) -------
  // As Sodium's: users and nodes (and finds of them) answer promises,
  // servers at once.
  const records = (op, kind, id) => parse(native.data(op, kind, id === undefined ? '' : String(id)));
  const data = freeze({
    getUsers: async () => records('list', 'users'),
    findUser: async (id) => records('find', 'users', id),
    getServers: () => records('list', 'servers'),
    findServer: (id) => records('find', 'servers', id),
    getNodes: async () => records('list', 'nodes'),
    findNode: async (id) => records('find', 'nodes', id),
  });

  // --- auth: route middleware on req.user, answering as Sodium's ------------
  const auth = freeze({
    requireUser(req, res, next) {
      if (!req.user) return res.status(401).json({ error: req.get('authorization') ? 'Invalid or expired token' : 'No token provided' });
      return next();
    },
    requireAdmin(req, res, next) {
      if (!req.user || req.user.isAdmin !== true) return res.status(403).json({ error: 'Admin access required' });
      return next();
    },
  });

  // --- events: between plugins, JSON-copied, delivered later ----------------
  const eventHandlers = new Map();
  const events = freeze({
    on(event, handler) {
      if (typeof handler !== 'function') throw new TypeError(`events.on("${event}"): the handler must be a function`);
      const name = String(event);
      eventHandlers.set(name, [...(eventHandlers.get(name) || []), handler]);
    },
    emit(event, value) {
      native.emitEvent(String(event), toJson(value));
    },
  });
  async function deliverEvent(event, dataJson) {
    for (const handler of eventHandlers.get(event) || []) {
      try {
        await handler(parse(dataJson));
      } catch (e) {
        logger.warn(`Event handler error for "${event}":`, e);
      }
    }
  }

  const meta = freeze({ id: native.pluginId, name: native.pluginName, version: native.pluginVersion });
  // Everything confined to the plugin is always there; what reaches outside
  // it (data, plugins.call, fetch) throws without its permission.
  const api = freeze({ id: native.pluginId, meta, db, http, hooks, cron, config, plugins, logger, data, auth, events, ui });

  // Runs the module's default export with the API object.
  async function activate(ticket, main) {
    try {
      const value = await main(api);
      exported = value !== null && typeof value === 'object' ? value : {};
      native.done(ticket, true, 'null');
    } catch (e) {
      native.done(ticket, false, toJson(e instanceof Error ? (e.stack || String(e)) : String(e)));
    }
  }
  return freeze({ activate, dispatch, runHook, callMethod, fireTimer, runCron, fetchDone, deliverEvent });
})
