// Inside a plugin's sandboxed frame (an opaque origin: no cookies, no
// storage, no panel DOM). The panel hands it a MessagePort and what to show;
// it imports the plugin's client module, gives it the client API (Sodium's
// and seed 004's), renders the surface asked for, and reports its height.
// Everything the plugin asks of the panel goes over the port.
import './frame.css';

let port = null;
let nextCall = 1;
const pending = new Map();
const handlers = {}; // events.on
const registered = {
  pages: new Map(), // Sodium's onRenderPage(id, fn) and seed 004's registerPages, by id and by path
  widgets: new Map(),
  serverTabs: new Map(),
  adminPages: new Map(),
  adminTabs: new Map(),
  sidebarItems: [],
};
const declared = { pages: [], widgets: [], serverTabs: [], adminTabs: [] };

function call(type, payload) {
  const id = nextCall++;
  return new Promise((resolve, reject) => {
    pending.set(id, { resolve, reject });
    port.postMessage({ type, id, ...payload });
  });
}

function tell(type, payload) {
  port.postMessage({ type, ...payload });
}

function escapeHtml(value) {
  return String(value ?? '').replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }[c]));
}

function bodyOf(body) {
  if (body === undefined || body === null) return undefined;
  if (typeof body === 'string') return body;
  if (body instanceof URLSearchParams) return body.toString();
  if (body instanceof ArrayBuffer || ArrayBuffer.isView(body) || body instanceof Blob) return body;
  return JSON.stringify(body);
}

function headersOf(headers) {
  const out = {};
  new Headers(headers || {}).forEach((value, name) => { out[name] = value; });
  return out;
}

// A plugin's own routes fetched directly (fetch('/api/plugins/<id>/...'),
// as code written for Sodium's page does) go through the panel like api();
// anything else stays refused by the frame's policy.
function routeOwnFetches(plugin, api) {
  const own = `/api/plugins/${encodeURIComponent(plugin.id)}`;
  const original = window.fetch.bind(window);
  window.fetch = (input, init = {}) => {
    const request = input instanceof Request ? input : null;
    const url = new URL(request ? request.url : String(input), location.href);
    if (url.origin !== new URL(location.href).origin || !(url.pathname === own || url.pathname.startsWith(own + '/'))) return original(input, init);
    const method = init.method || (request ? request.method : 'GET');
    return api(url.pathname.slice(own.length) + url.search, { method, headers: init.headers || (request ? request.headers : undefined), body: init.body });
  };
}

function clientApi(plugin) {
  const ui = {
    // Sodium's: the surfaces declared by server.js (client-data), rendered here.
    onRenderPage: (id, fn) => registered.pages.set(String(id), { fn, style: 'sodium' }),
    onRenderWidget: (id, fn) => registered.widgets.set(String(id), { fn, style: 'sodium' }),
    onRenderServerTab: (id, fn) => registered.serverTabs.set(String(id), { fn, style: 'sodium' }),
    onRenderAdminPage: (id, fn) => registered.adminPages.set(String(id), { fn, style: 'sodium' }),
    // Seed 004's: declared and rendered from here.
    registerPages(pages) {
      const list = Array.isArray(pages) ? pages : Object.entries(pages || {}).map(([path, page]) => ({ path, ...page }));
      for (const page of list) {
        if (!page || typeof page.path !== 'string' || typeof page.render !== 'function') continue;
        registered.pages.set(page.path, { fn: page.render, style: 'seed' });
        declared.pages.push({ path: page.path, title: String(page.title || page.path), icon: page.icon });
      }
    },
    addSidebarItem(item) {
      if (!item || typeof item !== 'object') return;
      const index = registered.sidebarItems.length;
      registered.sidebarItems.push(item);
      const position = item.position;
      tellLater('sidebarItem', {
        item: { index, id: item.id ? String(item.id) : undefined, label: String(item.label || ''), icon: item.icon, href: item.href || item.path,
          position: typeof position === 'number' || typeof position === 'string' ? position : undefined, hasBadge: typeof item.badge === 'function' },
      });
    },
    addServerTab(tab) {
      if (!tab || !tab.id || typeof tab.render !== 'function') return;
      registered.serverTabs.set(String(tab.id), { fn: tab.render, style: 'seed' });
      declared.serverTabs.push({ id: String(tab.id), label: String(tab.label || tab.id) });
    },
    addDashboardWidget(widget) {
      if (!widget || !widget.id || typeof widget.render !== 'function') return;
      registered.widgets.set(String(widget.id), { fn: widget.render, style: 'seed' });
      declared.widgets.push({ id: String(widget.id), title: String(widget.title || ''), size: widget.size || 'medium' });
    },
    addAdminTab(tab) {
      if (!tab || !tab.id || typeof tab.render !== 'function') return;
      registered.adminTabs.set(String(tab.id), { fn: tab.render, style: 'seed' });
      declared.adminTabs.push({ id: String(tab.id), label: String(tab.label || tab.id), subtabs: Array.isArray(tab.subtabs) ? tab.subtabs.map(String) : [] });
    },
  };
  const client = {
    plugin: { id: plugin.id, name: plugin.name, version: plugin.version },
    // Sodium's api(path, opts): a fetch Response, from the plugin's own routes only.
    async api(path, opts = {}) {
      const answer = await call('api', {
        path: String(path), method: String(opts.method || 'GET').toUpperCase(), headers: headersOf(opts.headers), body: bodyOf(opts.body),
      });
      return new Response(answer.body, { status: answer.status, statusText: answer.statusText, headers: answer.headers });
    },
    ui,
    events: {
      on(event, fn) { (handlers[event] ||= []).push(fn); },
      off(event, fn) { handlers[event] = (handlers[event] || []).filter((h) => h !== fn); },
      emit(event, data) { tell('emit', { event: String(event), data: JSON.parse(JSON.stringify(data ?? null)) }); },
    },
    navigate(path) { tell('navigate', { path: String(path) }); },
    toast: {
      success: (message) => tell('toast', { kind: 'success', message: String(message) }),
      error: (message) => tell('toast', { kind: 'error', message: String(message) }),
      info: (message) => tell('toast', { kind: 'info', message: String(message) }),
    },
    modal: {
      show: (opts = {}) => call('modal', { options: modalOptions(opts, false) }).then((a) => a.confirmed),
      confirm: (opts = {}) => call('modal', { options: modalOptions(opts, true) }).then((a) => a.confirmed),
    },
    escapeHtml,
  };
  routeOwnFetches(plugin, client.api);
  return client;
}

function modalOptions(opts, confirm) {
  const o = typeof opts === 'string' ? { message: opts } : opts || {};
  return { title: String(o.title || ''), message: String(o.message || o.content || o.body || ''), confirmText: o.confirmText ? String(o.confirmText) : undefined,
    cancelText: o.cancelText ? String(o.cancelText) : undefined, danger: !!o.danger, confirm };
}

// Sidebar items are announced as they are added (their badges live here).
const early = [];
function tellLater(type, payload) {
  if (port) tell(type, payload);
  else early.push([type, payload]);
}

function deliver(event, data) {
  for (const fn of handlers[event] || []) {
    try { fn(data); } catch (e) { console.warn(`[plugin event] ${event}:`, e); }
  }
}

const root = () => document.getElementById('root');

async function show(result, container) {
  const value = await result;
  if (typeof value === 'string') container.innerHTML = value;
  else if (value instanceof Node) container.replaceChildren(value);
}

function renderer(surface) {
  switch (surface.kind) {
    case 'page': return registered.pages.get(surface.id) || registered.pages.get(surface.path);
    case 'widget': return registered.widgets.get(surface.id);
    case 'serverTab': return registered.serverTabs.get(surface.id);
    case 'adminPage': return registered.adminPages.get(surface.id);
    case 'adminTab': return registered.adminTabs.get(surface.id);
    default: return undefined;
  }
}

async function render(surface) {
  const entry = renderer(surface);
  if (!entry) throw new Error(`The plugin registered nothing to render for its ${surface.kind} "${surface.id || surface.path}"`);
  const container = root();
  const { fn, style } = entry;
  // Sodium's render functions fill (container[, serverId]); seed 004's
  // return what to show (server tabs get the server's id first).
  if (surface.kind === 'serverTab') await show(style === 'sodium' ? fn(container, surface.serverId) : fn(surface.serverId, container), container);
  else if (surface.kind === 'adminTab') await show(fn(container, surface.subtab), container);
  else await show(fn(container), container);
}

function reportSize() {
  let last = -1;
  const send = () => {
    const height = Math.ceil(document.documentElement.scrollHeight);
    if (height !== last) {
      last = height;
      tell('size', { height });
    }
  };
  new ResizeObserver(send).observe(document.body);
  send();
}

function fail(error) {
  const message = error && error.message ? error.message : String(error);
  root().innerHTML = `<div class="plugin-error" role="alert">${escapeHtml(message)}</div>`;
  tell('failed', { message });
}

// Marks in the frame's performance timeline (bench/panel reads them):
// pb:init (the panel's message), pb:imported (the module), pb:rendered.
const mark = (name) => { try { performance.mark(name); } catch { /* no timeline */ } };

// The plugin's module, by its id and content hash. An absolute URL: this
// script came from the panel to an opaque origin, so a relative import
// would resolve against about:blank.
function moduleUrl(id, hash) {
  return new URL(`/api/plugins/${encodeURIComponent(id)}/client.js?v=${encodeURIComponent(hash)}`, location.href).href;
}

// The panel names the plugin and its module's hash in the frame's URL too:
// the import starts as the frame starts, while the panel waits for it to
// load. The panel's init message still decides what runs.
const named = new URLSearchParams(location.search);
const preload = named.get('plugin') && named.get('c')
  ? { id: named.get('plugin'), hash: named.get('c'), module: import(moduleUrl(named.get('plugin'), named.get('c'))).then((m) => ({ m }), (e) => ({ e })) }
  : null;

async function start(init) {
  mark('pb:init');
  const { plugin, surface } = init;
  const hash = plugin.clientHash || plugin.version;
  let module;
  try {
    const loaded = preload && preload.id === plugin.id && preload.hash === hash ? await preload.module : { m: await import(moduleUrl(plugin.id, hash)) };
    if (loaded.e) throw loaded.e;
    module = loaded.m;
    mark('pb:imported');
  } catch (e) {
    return fail(new Error(`The plugin's client code did not load: ${e && e.message ? e.message : e}`));
  }
  const setup = module.default;
  try {
    if (typeof setup === 'function') await setup(clientApi(plugin));
  } catch (e) {
    return fail(new Error(`The plugin's client code failed as it started: ${e && e.message ? e.message : e}`));
  }
  for (const [type, payload] of early.splice(0)) tell(type, payload);
  if (surface.kind === 'register') {
    tell('registered', { declared });
    return;
  }
  try {
    await render(surface);
  } catch (e) {
    return fail(e);
  }
  mark('pb:rendered');
  tell('rendered', {});
  reportSize();
}

function onPortMessage(event) {
  const m = event.data || {};
  if (m.type === 'answer' || m.type === 'error') {
    const p = pending.get(m.id);
    if (!p) return;
    pending.delete(m.id);
    if (m.type === 'answer') p.resolve(m.value);
    else p.reject(new Error(m.message));
  } else if (m.type === 'event') {
    deliver(m.event, m.data);
  } else if (m.type === 'badge') {
    const item = registered.sidebarItems[m.index];
    Promise.resolve()
      .then(() => (item && typeof item.badge === 'function' ? item.badge() : null))
      .then((value) => tell('badge', { index: m.index, value: typeof value === 'number' && Number.isFinite(value) ? value : null }),
        () => tell('badge', { index: m.index, value: null }));
  }
}

// The panel speaks first, once; nobody else is listened to.
function onFirstMessage(event) {
  if (event.source !== window.parent || !event.data || event.data.type !== 'pb:init' || !event.ports[0]) return;
  window.removeEventListener('message', onFirstMessage);
  port = event.ports[0];
  port.onmessage = onPortMessage;
  start(event.data);
}
window.addEventListener('message', onFirstMessage);
window.addEventListener('error', (e) => port && tell('log', { level: 'error', message: String(e.message) }));
