// Short notices from plugins (toast.success/error/info), stacked at the
// bottom of the screen and read out by screen readers.
let region = null;

function ensureRegion() {
  if (region && document.body.contains(region)) return region;
  region = document.createElement('div');
  region.className = 'toasts';
  region.setAttribute('role', 'status');
  region.setAttribute('aria-live', 'polite');
  document.body.appendChild(region);
  return region;
}

export function toast(kind, message, from) {
  const el = document.createElement('div');
  el.className = `toast toast-${kind === 'error' || kind === 'success' ? kind : 'info'}`;
  if (from) {
    const who = document.createElement('strong');
    who.textContent = from;
    el.append(who, ' ');
  }
  el.append(message.slice(0, 500));
  ensureRegion().appendChild(el);
  setTimeout(() => el.remove(), kind === 'error' ? 8000 : 4000);
}
