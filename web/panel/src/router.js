// Paths in the address bar, without a page load: navigate() and <Link>.
import { html } from './html.js';
import { useEffect, useState } from 'preact/hooks';

const listeners = new Set();

export function currentPath() {
  return location.pathname + location.search;
}

export function navigate(path, { replace = false } = {}) {
  if (path === currentPath()) return;
  if (replace) history.replaceState(null, '', path);
  else history.pushState(null, '', path);
  listeners.forEach((l) => l(currentPath()));
  window.scrollTo(0, 0);
}

window.addEventListener('popstate', () => listeners.forEach((l) => l(currentPath())));

export function usePath() {
  const [path, setPath] = useState(currentPath());
  useEffect(() => {
    listeners.add(setPath);
    return () => listeners.delete(setPath);
  }, []);
  return path;
}

// Matches "/servers/:id" against a path; the params, or null.
export function match(pattern, path) {
  const p = pattern.split('/').filter(Boolean);
  const parts = path.split('?')[0].split('/').filter(Boolean);
  if (p.length !== parts.length) return null;
  const params = {};
  for (let i = 0; i < p.length; i++) {
    if (p[i].startsWith(':')) params[p[i].slice(1)] = decodeURIComponent(parts[i]);
    else if (p[i] !== parts[i]) return null;
  }
  return params;
}

export function Link({ href, children, ...rest }) {
  const onClick = (e) => {
    if (e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
    e.preventDefault();
    navigate(href);
  };
  return html`<a href=${href} onClick=${onClick} ...${rest}>${children}</a>`;
}
