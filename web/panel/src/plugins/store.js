// What active plugins add to the panel's UI: the surfaces their server.js
// declared (GET /api/plugins/client-data, Sodium's ui.*) and those their
// client.js registers (seed 004's sodium.ui.*), learnt by running each
// client module once in a hidden sandboxed frame that stays for badges.
// Reloaded when plugins change (the live event), so every open panel
// follows installs, upgrades and removals without a page reload.
import { useEffect, useState } from 'preact/hooks';
import { get } from '../api.js';
import { connect } from './bridge.js';

const REGISTER_DEADLINE_MS = 5000;
const BADGE_PERIOD_MS = 30000;

let state = { loaded: false, plugins: [], declared: {}, badges: {}, frameEpoch: 0, revisions: {} };
const listeners = new Set();
let generation = 0;
let hidden = null;
const badgeBridges = new Map(); // plugin id -> bridge of its registration frame
let badgeTimer = null;

function set(next) {
  state = { ...state, ...next };
  listeners.forEach((l) => l(state));
}

export function usePlugins() {
  const [snapshot, setSnapshot] = useState(state);
  useEffect(() => {
    listeners.add(setSnapshot);
    setSnapshot(state);
    return () => listeners.delete(setSnapshot);
  }, []);
  return snapshot;
}

export function pluginState() {
  return state;
}

function hiddenHost() {
  if (hidden && document.body.contains(hidden)) return hidden;
  hidden = document.createElement('div');
  hidden.hidden = true;
  hidden.dataset.slot = 'plugin-registrations';
  document.body.appendChild(hidden);
  return hidden;
}

// Where a plugin's frames load from. Browsers put the sandboxed frames of
// one site in one process: cheap (20 widgets need no 20 processes), but a
// plugin that spins stalls every frame in it, and the stalled process can
// outlive its frames for a while. So frames share the panel's origin until
// a plugin's frame misses its deadline; where the panel can name other sites
// (over loopback: <name>.localhost, which browsers resolve to this machine
// and treat as sites of their own) that plugin then moves to a site of its
// own, the others to a fresh shared site, and every plugin frame is made
// again: no new frame lands in the stalled process.
const loopback = new Set(['127.0.0.1', 'localhost']);
const ISOLATED_KEY = 'pb.isolatedPlugins';
const SHARED_SITE_KEY = 'pb.sharedFrameSite';
const REGISTRATIONS_KEY = 'pb.registrations';
function stored(key, fallback) {
  try {
    return JSON.parse(sessionStorage.getItem(key) || 'null') ?? fallback;
  } catch {
    return fallback;
  }
}
function store(key, value) {
  try {
    sessionStorage.setItem(key, JSON.stringify(value));
  } catch {
    // storage full or refused: only a cache
  }
}
const isolated = new Set(stored(ISOLATED_KEY, []));
let sharedSite = Number(stored(SHARED_SITE_KEY, 0)) || 0; // 0: the panel's own origin
function siteOrigin(label) {
  return `${location.protocol}//${label}.localhost${location.port ? `:${location.port}` : ''}`;
}
function pluginLabel(pluginId) {
  // A plugin called "shared-…" or with "_" in its id gets the encoded form,
  // so no plugin's site is the shared one.
  return /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/.test(pluginId) && !pluginId.startsWith('shared-') ? pluginId
    : `p-${Array.from(new TextEncoder().encode(pluginId)).map((b) => b.toString(16).padStart(2, '0')).join('').slice(0, 56)}`;
}
// The frame document's version (the shell names it): asked for by it, the
// browser keeps the document and later loads make frames without a request.
const frameVersion = (document.querySelector('meta[name="pb-frame-version"]') || {}).content || '';
export function frameUrl(plugin) {
  let base = '';
  if (loopback.has(location.hostname)) {
    if (isolated.has(plugin.id)) base = siteOrigin(pluginLabel(plugin.id));
    else if (sharedSite > 0) base = siteOrigin(`shared-${sharedSite}`);
  }
  const module = plugin.clientHash ? `&c=${encodeURIComponent(plugin.clientHash)}` : '';
  return `${base}/plugin-frame?plugin=${encodeURIComponent(plugin.id)}${module}${frameVersion ? `&v=${encodeURIComponent(frameVersion)}` : ''}`;
}

// Plugin `pluginId` changed on the server (settings, grants, limits, a new
// version, started again): its frames are made again, so that what they
// show comes from the plugin as it is now.
export function pluginChanged(pluginId) {
  set({ revisions: { ...state.revisions, [pluginId]: (state.revisions[pluginId] || 0) + 1 } });
}

// A frame of `pluginId` missed its deadline: see frameUrl.
export function quarantine(pluginId) {
  if (!loopback.has(location.hostname) || isolated.has(pluginId)) return;
  isolated.add(pluginId);
  sharedSite += 1;
  store(ISOLATED_KEY, [...isolated]);
  store(SHARED_SITE_KEY, sharedSite);
  set({ frameEpoch: state.frameEpoch + 1 });
  loadPlugins();
}

// What a plugin's client.js registered, kept per module (its content's hash) for the session,
// so that later loads render at once, without a registration frame (one
// still runs for plugins with badges: they are evaluated there).
const registrationKey = (plugin) => `${plugin.id}@${plugin.clientHash || plugin.version}`;
function rememberedRegistration(plugin) {
  return stored(REGISTRATIONS_KEY, {})[registrationKey(plugin)];
}
function rememberRegistration(plugin, declared) {
  if (declared.failed) return;
  const all = stored(REGISTRATIONS_KEY, {});
  all[registrationKey(plugin)] = declared;
  store(REGISTRATIONS_KEY, all);
}

// Runs `plugin`'s client module once to learn what it registers.
function register(plugin, mine) {
  return new Promise((resolve) => {
    const iframe = document.createElement('iframe');
    iframe.setAttribute('sandbox', 'allow-scripts');
    iframe.title = `${plugin.name} (registration)`;
    iframe.src = frameUrl(plugin);
    const sidebarItems = [];
    let settled = false;
    const finish = (result) => {
      if (settled) return;
      settled = true;
      clearTimeout(deadline);
      resolve(result);
    };
    const deadline = setTimeout(() => {
      iframe.remove();
      finish({ failed: `${plugin.name}'s client code did not start within ${REGISTER_DEADLINE_MS / 1000} s` });
      quarantine(plugin.id);
    }, REGISTER_DEADLINE_MS);
    iframe.addEventListener('load', () => {
      if (mine !== generation) return iframe.remove();
      const channel = new MessageChannel();
      const bridge = connect(channel.port1, plugin, {
        sidebarItem: (m) => sidebarItems.push(m.item),
        registered: (m) => {
          badgeBridges.set(plugin.id, bridge);
          finish({ ...m.declared, sidebarItems });
        },
        failed: (m) => {
          iframe.remove();
          finish({ failed: m.message });
        },
        badge: (m) => set({ badges: { ...state.badges, [`${plugin.id}:${m.index}`]: m.value } }),
        emit: (event, data) => broadcast(plugin.id, event, data),
      });
      iframe.contentWindow.postMessage({ type: 'pb:init', plugin: { id: plugin.id, name: plugin.name, version: plugin.version, clientHash: plugin.clientHash }, surface: { kind: 'register' } }, '*', [channel.port2]);
    }, { once: true });
    hiddenHost().appendChild(iframe);
  });
}

// Frames of one plugin hear its events (events.emit) and the panel's.
const frameBridges = new Set(); // {pluginId, bridge}
export function joinEvents(pluginId, bridge) {
  const entry = { pluginId, bridge };
  frameBridges.add(entry);
  return () => frameBridges.delete(entry);
}
export function broadcast(pluginId, event, data) {
  for (const f of frameBridges) if (pluginId === null || f.pluginId === pluginId) f.bridge.event(event, data);
  const own = badgeBridges.get(pluginId);
  if (own) own.event(event, data);
  if (pluginId !== null) refreshBadges(pluginId);
}

function refreshBadges(onlyPlugin) {
  for (const [pluginId, declared] of Object.entries(state.declared)) {
    if (onlyPlugin && pluginId !== onlyPlugin) continue;
    const bridge = badgeBridges.get(pluginId);
    for (const item of declared.sidebarItems || []) if (item.hasBadge && bridge) bridge.badge(item.index);
  }
}

export async function loadPlugins() {
  const mine = ++generation;
  let plugins = [];
  try {
    plugins = (await get('/api/plugins/client-data')).plugins || [];
  } catch {
    plugins = [];
  }
  if (mine !== generation) return;
  if (hidden) hidden.replaceChildren();
  badgeBridges.clear();
  const declared = {};
  const toRegister = [];
  for (const p of plugins.filter((q) => q.hasClient)) {
    const known = rememberedRegistration(p);
    if (known) declared[p.id] = known;
    if (!known || (known.sidebarItems || []).some((i) => i.hasBadge)) toRegister.push(p);
  }
  for (const page of pluginPages()) formerPaths.set(page.path, page.plugin.name);
  const allKnown = toRegister.every((p) => declared[p.id]);
  if (allKnown) set({ loaded: true, plugins, declared: { ...declared }, badges: {} });
  const fresh = await Promise.all(toRegister.map(async (p) => [p, await register(p, mine)]));
  if (mine !== generation) return;
  for (const [p, d] of fresh) {
    declared[p.id] = d;
    rememberRegistration(p, d);
  }
  set(allKnown ? { declared } : { loaded: true, plugins, declared, badges: {} });
  for (const page of pluginPages()) formerPaths.set(page.path, page.plugin.name);
  refreshBadges();
  clearInterval(badgeTimer);
  badgeTimer = setInterval(() => refreshBadges(), BADGE_PERIOD_MS);
}

export function unloadPlugins() {
  generation++;
  clearInterval(badgeTimer);
  if (hidden) hidden.replaceChildren();
  badgeBridges.clear();
  set({ loaded: false, plugins: [], declared: {}, badges: {} });
  // The next user of this tab learns afresh.
  try {
    sessionStorage.removeItem(REGISTRATIONS_KEY);
    sessionStorage.removeItem(ISOLATED_KEY);
    sessionStorage.removeItem(SHARED_SITE_KEY);
  } catch {
    // nothing kept
  }
  isolated.clear();
  sharedSite = 0;
}

// The surfaces of one kind, from both sources, each with its plugin.
function surfaces(kindFromServer, kindFromClient) {
  const out = [];
  for (const plugin of state.plugins) {
    const meta = { id: plugin.id, name: plugin.name, version: plugin.version, clientHash: plugin.clientHash, problem: plugin.problem };
    for (const s of plugin[kindFromServer] || []) if (s && (s.id || s.path)) out.push({ ...s, plugin: meta, style: 'sodium' });
    const declared = state.declared[plugin.id];
    for (const s of (declared && declared[kindFromClient]) || []) out.push({ ...s, plugin: meta, style: 'seed' });
  }
  return out;
}

// The panel's own paths: a plugin page may not take them.
const PANEL_PATHS = [/^\/$/, /^\/(login|register|dashboard|profile|plugin-frame)$/, /^\/servers(\/|$)/, /^\/admin(\/|$)/, /^\/api(\/|$)/, /^\/assets(\/|$)/];

// Plugins' pages, each path taken once: one that collides with the panel's
// own or an earlier plugin's is left out, with the reason for administrators.
function placePages() {
  const taken = new Map();
  const pages = [];
  const problems = [];
  for (const page of surfaces('pages', 'pages')) {
    if (typeof page.path !== 'string' || !page.path.startsWith('/')) continue;
    const path = page.path.replace(/\/+$/, '') || '/';
    if (PANEL_PATHS.some((re) => re.test(path))) {
      problems.push(`${page.plugin.name}: the page ${path} is one of the panel's own paths; it is not shown`);
    } else if (taken.has(path)) {
      if (taken.get(path) !== page.plugin.name) problems.push(`${page.plugin.name}: the page ${path} is already taken by ${taken.get(path)}; it is not shown`);
    } else {
      taken.set(path, page.plugin.name);
      pages.push({ ...page, path });
    }
  }
  return { pages, problems };
}

export const pluginPages = () => placePages().pages;

// What administrators should hear about plugins' UI: modules that failed
// to start, pages refused for their paths.
export function pluginProblems() {
  const failed = Object.entries(state.declared).filter(([, d]) => d.failed).map(([id, d]) => {
    const plugin = state.plugins.find((p) => p.id === id);
    return `${plugin ? plugin.name : id}: ${d.failed}`;
  });
  return [...failed, ...placePages().problems];
}

// Paths plugins' pages had this session: a page whose plugin went says so.
const formerPaths = new Map();
export function formerPluginPage(path) {
  return formerPaths.get(path);
}
export const pluginWidgets = () => surfaces('dashboardWidgets', 'widgets');
export const pluginServerTabs = () => surfaces('serverTabs', 'serverTabs');
export const pluginAdminPages = () => [
  ...surfaces('adminPages', 'none').map((p) => ({ ...p, kind: 'adminPage' })),
  ...surfaces('adminTabs', 'adminTabs').map((p) => ({ ...p, kind: p.style === 'seed' ? 'adminTab' : 'adminPage' })),
];
