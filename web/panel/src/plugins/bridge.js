// The panel's side of a plugin frame's port: what the plugin may ask for.
// Its API calls go to its own routes only (/api/plugins/<id>/...), made
// here with the session; nothing else of the panel is reachable.
import { csrfToken } from '../api.js';
import { navigate } from '../router.js';
import { toast } from './toasts.js';
import { ask } from './modal.js';

// The URL a plugin's api(path) names, or null when it would leave the
// plugin's own routes (../, encoded slashes, another origin).
export function pluginUrl(pluginId, path) {
  const base = `/api/plugins/${encodeURIComponent(pluginId)}`;
  if (typeof path !== 'string' || /%2f|%5c|\\/i.test(path)) return null;
  let url;
  try {
    url = new URL(base + (path.startsWith('/') ? path : '/' + path), location.origin);
  } catch {
    return null;
  }
  if (url.origin !== location.origin) return null;
  if (url.pathname !== base && !url.pathname.startsWith(base + '/')) return null;
  return url.pathname + url.search;
}

const forbiddenHeaders = new Set(['authorization', 'cookie', 'x-csrf-token', 'host', 'origin', 'referer']);

async function pluginFetch(pluginId, m) {
  const url = pluginUrl(pluginId, m.path);
  if (!url) throw new Error(`api("${m.path}"): a plugin may call its own routes only (/api/plugins/${pluginId}/...)`);
  const headers = {};
  for (const [name, value] of Object.entries(m.headers || {})) {
    if (!forbiddenHeaders.has(name.toLowerCase())) headers[name] = String(value);
  }
  if (m.body !== undefined && !Object.keys(headers).some((h) => h.toLowerCase() === 'content-type') && typeof m.body === 'string') {
    headers['Content-Type'] = 'application/json';
  }
  if (m.method !== 'GET' && m.method !== 'HEAD') headers['X-CSRF-Token'] = csrfToken();
  const response = await fetch(url, { method: m.method, headers, body: m.body, credentials: 'same-origin', redirect: 'manual' });
  const out = {};
  response.headers.forEach((value, name) => { out[name] = value; });
  return { status: response.status || 502, statusText: response.statusText, headers: out, body: await response.arrayBuffer() };
}

// Wires `port` for the plugin; `on` gets what concerns the frame itself
// (size, rendered, failed, registered, sidebarItem, badge).
export function connect(port, plugin, on) {
  const answer = (id, value) => port.postMessage({ type: 'answer', id, value });
  const refuse = (id, message) => port.postMessage({ type: 'error', id, message });
  port.onmessage = async (event) => {
    const m = event.data || {};
    switch (m.type) {
      case 'api':
        try {
          const result = await pluginFetch(plugin.id, m);
          port.postMessage({ type: 'answer', id: m.id, value: result }, [result.body]);
        } catch (e) {
          refuse(m.id, e.message || String(e));
        }
        break;
      case 'modal':
        answer(m.id, { confirmed: await ask({ ...m.options, plugin: plugin.name }) });
        break;
      case 'toast':
        toast(m.kind, String(m.message), plugin.name);
        break;
      case 'navigate':
        if (typeof m.path === 'string' && m.path.startsWith('/') && !m.path.startsWith('//')) navigate(m.path);
        break;
      case 'emit':
        on.emit && on.emit(String(m.event), m.data);
        break;
      default:
        on[m.type] && on[m.type](m);
    }
  };
  port.start && port.start();
  return {
    event: (name, data) => port.postMessage({ type: 'event', event: name, data }),
    badge: (index) => port.postMessage({ type: 'badge', index }),
  };
}
