// Small building blocks every page uses: buttons that show they are busy,
// labelled fields, status badges, error and notice boxes, formatting.
import { html } from './html.js';
import { useLayoutEffect, useRef, useState } from 'preact/hooks';

export function formatBytes(bytes) {
  if (bytes == null) return '–';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let n = Number(bytes);
  let u = 0;
  while (n >= 1024 && u < units.length - 1) {
    n /= 1024;
    u++;
  }
  return `${n >= 10 || u === 0 ? Math.round(n) : n.toFixed(1)} ${units[u]}`;
}

export const formatMiB = (mib) => formatBytes(Number(mib) * 1024 * 1024);

export function formatDuration(seconds) {
  if (seconds == null) return '–';
  const s = Math.floor(seconds);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m ${s % 60}s`;
  return `${Math.floor(s / 3600)}h ${Math.floor((s % 3600) / 60)}m`;
}

export function formatTime(iso) {
  if (!iso) return '–';
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : d.toLocaleString();
}

const statusLabels = { offline: 'Offline', starting: 'Starting', running: 'Running', stopping: 'Stopping' };

export function StatusBadge({ status }) {
  return html`<span class=${`badge status-${status}`} data-status=${status}>
    <span class="dot" aria-hidden="true"></span>${statusLabels[status] || status}
  </span>`;
}

export function ErrorBox({ error }) {
  if (!error) return null;
  return html`<div class="alert alert-error" role="alert">${String(error.message || error)}</div>`;
}

export function Notice({ children, kind = 'info' }) {
  return html`<div class=${`alert alert-${kind}`} role="status">${children}</div>`;
}

// A form's submit: runs `action`, keeping busy and error for the form to show.
export function useSubmit(action) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState(null);
  const submit = async (e) => {
    if (e) e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      await action();
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  return { busy, error, setError, submit };
}

// A button that runs an async action, shows it is busy, and reports its error through onError.
export function ActionButton({ action, onError, children, kind = 'secondary', confirm: question, ...rest }) {
  const [busy, setBusy] = useState(false);
  const run = async () => {
    if (question && !window.confirm(question)) return;
    setBusy(true);
    try {
      onError && onError(null);
      await action();
    } catch (e) {
      if (onError) onError(e);
    } finally {
      setBusy(false);
    }
  };
  return html`<button type="button" class=${`btn btn-${kind}`} disabled=${busy || rest.disabled} aria-busy=${busy} onClick=${run} ...${rest}>
    ${children}
  </button>`;
}

export function Field({ label, hint, children }) {
  return html`<label class="field"><span class="field-label">${label}</span>${children}${hint && html`<span class="field-hint">${hint}</span>`}</label>`;
}

export function PageHeader({ title, subtitle, children }) {
  return html`<header class="page-header">
    <div><h1>${title}</h1>${subtitle && html`<p class="subtitle">${subtitle}</p>`}</div>
    ${children && html`<div class="page-actions">${children}</div>`}
  </header>`;
}

export function Card({ title, children, actions, id }) {
  return html`<section class="card" id=${id}>
    ${(title || actions) && html`<div class="card-head">${title && html`<h2>${title}</h2>`}${actions}</div>`}
    ${children}
  </section>`;
}

export function Empty({ children }) {
  return html`<p class="empty">${children}</p>`;
}

export function Loading() {
  return html`<p class="loading" aria-live="polite">Loading…</p>`;
}

// A tab strip (nav.tabs) scrolls sideways when its tabs do not fit (a
// phone): this keeps the current one (aria-current=page) in view, centred,
// whenever `current` changes. Returns the ref for the strip.
export function useCurrentTabInView(current) {
  const strip = useRef(null);
  useLayoutEffect(() => {
    const nav = strip.current;
    const tab = nav && nav.querySelector('[aria-current=page]');
    if (!tab) return;
    const n = nav.getBoundingClientRect();
    const t = tab.getBoundingClientRect();
    if (t.left < n.left || t.right > n.right) nav.scrollLeft += (t.left + t.right) / 2 - (n.left + n.right) / 2;
  }, [current]);
  return strip;
}
