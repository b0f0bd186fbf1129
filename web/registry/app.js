// The registry's web interface: hash routes over the JSON API.
//   #/                 list and search
//   #/plugin/<id>      a plugin's page
//   #/admin            sign in with a token; the review queue
// Text from the API is always inserted as text; only readme_html (rendered
// by the server with cmark in safe mode) is inserted as HTML.

const view = document.getElementById('view');
const tokenKey = 'patchbay.registry.token';

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === 'class') node.className = v;
    else if (k.startsWith('on')) node.addEventListener(k.slice(2), v);
    else node.setAttribute(k, v);
  }
  for (const c of children.flat()) node.append(c instanceof Node ? c : document.createTextNode(String(c ?? '')));
  return node;
}

function token() { return sessionStorage.getItem(tokenKey) || ''; }

async function api(path, options = {}) {
  const headers = { ...(options.headers || {}) };
  if (token()) headers.Authorization = `Bearer ${token()}`;
  const res = await fetch(path, { ...options, headers });
  const body = res.headers.get('Content-Type')?.includes('json') ? await res.json() : await res.text();
  if (!res.ok) throw new Error(body?.error?.message || `${res.status} ${res.statusText}`);
  return { body, res };
}

function formatSize(n) {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KB`;
  return `${(n / 1024 / 1024).toFixed(1)} MB`;
}

function showError(e) {
  view.replaceChildren(el('p', { class: 'error', role: 'alert' }, e.message));
}

// --- list and search -------------------------------------------------------
let searchTimer;
async function renderList(params) {
  const q = params.get('q') || '';
  const search = el('input', { type: 'search', placeholder: 'Search plugins', value: q, 'aria-label': 'Search plugins', id: 'search' });
  const sort = el('select', { 'aria-label': 'Sort', id: 'sort' },
    el('option', { value: 'name' }, 'Name'), el('option', { value: 'downloads' }, 'Downloads'), el('option', { value: 'updated' }, 'Updated'));
  sort.value = params.get('sort') || 'name';
  const list = el('ul', { class: 'cards', id: 'plugin-list' });
  const count = el('p', { class: 'muted', id: 'plugin-count' });
  view.replaceChildren(el('div', { class: 'toolbar' }, search, sort), count, list);
  const load = async () => {
    const query = new URLSearchParams({ q: search.value, sort: sort.value });
    try {
      const { body, res } = await api(`/api/plugins?${query}`);
      count.textContent = `${res.headers.get('X-Total-Count') ?? body.length} plugin(s)`;
      list.replaceChildren(...body.map((p) => el('li', { class: 'card', 'data-id': p.id },
        el('h3', {}, el('a', { href: `#/plugin/${encodeURIComponent(p.id)}` }, p.name), ' ', el('span', { class: 'muted' }, p.version)),
        el('p', {}, p.description || ''),
        el('div', { class: 'meta' },
          p.category ? el('span', { class: 'tag' }, p.category) : '',
          el('span', {}, `${p.downloads} downloads`),
          el('span', {}, formatSize(p.size)),
          p.author ? el('span', {}, `by ${p.author}`) : ''))));
      history.replaceState(null, '', `#/?${query}`);
    } catch (e) { showError(e); }
  };
  search.addEventListener('input', () => { clearTimeout(searchTimer); searchTimer = setTimeout(load, 150); });
  sort.addEventListener('change', load);
  await load();
}

// --- a plugin's page -------------------------------------------------------
async function renderPlugin(id) {
  const { body: p } = await api(`/api/plugins/${encodeURIComponent(id)}`);
  const readme = el('article', { class: 'readme', id: 'readme' });
  readme.innerHTML = p.readme_html || '<p class="muted">No README.</p>';
  const sig = p.signature?.signed ? `signed by key ${p.signature.key_id}` : 'not signed';
  view.replaceChildren(
    el('p', {}, el('a', { href: '#/' }, '← All plugins')),
    el('h1', { id: 'plugin-name' }, p.name, ' ', el('span', { class: 'muted' }, p.version)),
    el('p', {}, p.description || ''),
    el('dl', { class: 'facts' },
      el('dt', {}, 'Install'), el('dd', {}, el('code', { id: 'install-command' }, p.install_command)),
      el('dt', {}, 'Category'), el('dd', {}, p.category || '—'),
      el('dt', {}, 'Author'), el('dd', {}, p.author || '—'),
      el('dt', {}, 'Size'), el('dd', {}, formatSize(p.size)),
      el('dt', {}, 'Downloads'), el('dd', {}, String(p.downloads)),
      el('dt', {}, 'Integrity'), el('dd', {}, el('code', {}, p.integrity)),
      el('dt', {}, 'Signature'), el('dd', { id: 'signature' }, sig),
      el('dt', {}, 'Status'), el('dd', { class: `status-${p.status}` }, p.yanked ? 'yanked' : p.status),
      el('dt', {}, 'Download'), el('dd', {}, el('a', { href: p.download_url }, p.filename))),
    readme,
    el('h2', {}, 'Versions'),
    el('table', { id: 'versions' },
      el('thead', {}, el('tr', {}, el('th', {}, 'Version'), el('th', {}, 'Published'), el('th', {}, 'Size'), el('th', {}, 'Downloads'), el('th', {}, 'Status'))),
      el('tbody', {}, ...p.versions.map((v) => el('tr', {},
        el('td', {}, el('a', { href: v.download_url }, v.version)),
        el('td', {}, v.updated_at), el('td', {}, formatSize(v.size)), el('td', {}, String(v.downloads)),
        el('td', { class: `status-${v.status}` }, v.yanked ? 'yanked' : v.status))))));
}

// --- admin: sign in, review queue -----------------------------------------
async function renderAdmin() {
  if (!token()) {
    const input = el('input', { type: 'password', placeholder: 'API token (pb_…)', id: 'token', 'aria-label': 'API token', autocomplete: 'off' });
    const message = el('p', { class: 'error', id: 'signin-error' });
    const form = el('form', { class: 'signin' }, input, el('button', { type: 'submit', id: 'signin' }, 'Sign in'));
    form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      sessionStorage.setItem(tokenKey, input.value.trim());
      try { await api('/api/admin/review-queue'); route(); } catch (e) { sessionStorage.removeItem(tokenKey); message.textContent = e.message; }
    });
    view.replaceChildren(el('h1', {}, 'Sign in'), el('p', { class: 'muted' }, 'A token with the review or admin scope (patchbay registry token create).'), form, message);
    return;
  }
  const { body } = await api('/api/admin/review-queue');
  const signOut = el('button', { id: 'signout', onclick: () => { sessionStorage.removeItem(tokenKey); route(); } }, 'Sign out');
  const rows = body.pending.map((v) => {
    const reason = el('input', { placeholder: 'Reason (optional)', 'aria-label': `Reason for ${v.id} ${v.version}` });
    const decide = (status) => async () => {
      try {
        await api(`/api/plugins/${encodeURIComponent(v.id)}/${encodeURIComponent(v.version)}/review`, {
          method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ status, reason: reason.value }) });
        await renderAdmin();
      } catch (e) { showError(e); }
    };
    return el('li', { class: 'card', 'data-id': v.id, 'data-version': v.version },
      el('h3', {}, v.name, ' ', el('span', { class: 'muted' }, v.version)),
      el('p', {}, v.description || ''),
      el('div', { class: 'meta' }, el('span', {}, `by ${v.owner || v.author || 'unknown'}`), el('span', {}, v.updated_at),
        el('span', {}, v.signature?.signed ? `signed (${v.signature.key_id})` : 'unsigned'), el('a', { href: v.download_url }, 'download')),
      el('p', {}, reason, ' ', el('button', { class: 'approve', onclick: decide('approved') }, 'Approve'), ' ',
        el('button', { class: 'reject', onclick: decide('rejected') }, 'Reject')));
  });
  view.replaceChildren(el('h1', {}, 'Review queue ', signOut),
    rows.length ? el('ul', { class: 'cards', id: 'review-queue' }, ...rows) : el('p', { class: 'muted', id: 'review-queue' }, 'Nothing waits for review.'));
}

async function route() {
  const hash = location.hash.replace(/^#/, '') || '/';
  const [path, query] = hash.split('?');
  try {
    if (path.startsWith('/plugin/')) await renderPlugin(decodeURIComponent(path.slice(8)));
    else if (path === '/admin') await renderAdmin();
    else await renderList(new URLSearchParams(query || ''));
  } catch (e) { showError(e); }
}

window.addEventListener('hashchange', route);
route();
