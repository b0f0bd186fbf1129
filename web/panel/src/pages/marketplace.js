// The marketplace, for administrators (seed 002's flow: find a plugin,
// click Install): the configured source's plugins, searchable by words,
// category and order, with "Updates (N)"; a plugin's page with its README,
// versions, the permissions each asks for, signatures and size. Installs,
// upgrades and uninstalls show their steps live; an upgrade that asks for
// more permissions shows them for a yes first; nothing needs a restart.
import { html } from '../html.js';
import { useEffect, useRef, useState } from 'preact/hooks';
import { useResource } from '../data.js';
import { Link } from '../router.js';
import { describeOperation, onOperationFinished, operationFraction, startOperation, useOperation } from '../marketplace/operations.js';
import { Card, Empty, ErrorBox, Loading, formatBytes, formatTime } from '../ui.js';

// A modal <dialog> that stays open while it is shown; Escape or Cancel closes it.
function Dialog({ title, children, onCancel, testId }) {
  const ref = useRef(null);
  useEffect(() => {
    const dialog = ref.current;
    if (dialog && !dialog.open) dialog.showModal();
    return () => dialog && dialog.open && dialog.close();
  }, []);
  return html`<dialog class="modal" ref=${ref} data-testid=${testId} aria-labelledby="dialog-title"
    onCancel=${(e) => { e.preventDefault(); onCancel(); }}>
    <h2 id="dialog-title">${title}</h2>
    ${children}
  </dialog>`;
}

// Asks the administrator to accept the permissions an upgrade adds:
// prompt(refusal) resolves true or false; `dialog` is to be rendered.
function usePermissionPrompt(descriptions = {}) {
  const [asking, setAsking] = useState(null);
  const prompt = (refusal) => new Promise((resolve) => setAsking({ refusal, resolve }));
  const answer = (yes) => {
    asking.resolve(yes);
    setAsking(null);
  };
  const dialog = asking && html`<${Dialog} title="New permissions" testId="permission-prompt" onCancel=${() => answer(false)}>
    <p>Version ${asking.refusal.version} asks for what the installed version did not have:</p>
    <ul class="permission-list">${asking.refusal.newPermissions.map((p) => html`<li key=${p}><code>${p}</code>${descriptions[p] ? html` <span class="muted">${descriptions[p]}</span>` : ''}</li>`)}</ul>
    <div class="modal-actions">
      <button type="button" class="btn" onClick=${() => answer(false)}>Cancel</button>
      <button type="button" class="btn btn-primary" onClick=${() => answer(true)}>Allow and upgrade</button>
    </div>
  <//>`;
  return { prompt, dialog };
}

// An upgrade: asked once; when the panel answers that it adds permissions,
// asked again with exactly those after the administrator's yes.
async function upgrade(pluginId, prompt, version) {
  try {
    return await startOperation({ action: 'upgrade', id: pluginId, ...(version ? { version } : {}) });
  } catch (e) {
    if (e.status !== 409 || !e.data || !Array.isArray(e.data.newPermissions)) throw e;
    if (!(await prompt(e.data))) return null;
    return startOperation({ action: 'upgrade', id: pluginId, version: e.data.version, acceptPermissions: e.data.newPermissions });
  }
}

// Runs `start`, telling `onError` its error (and null before it tries).
async function runReporting(start, onError) {
  onError(null);
  try {
    await start();
  } catch (e) {
    onError(e);
  }
}

function Progress({ op }) {
  const active = op.state === 'queued' || op.state === 'running';
  return html`<div class=${`op-progress op-${op.state}`} data-testid="operation" data-state=${op.state} data-step=${op.step || ''} role="status" aria-live="polite">
    ${active && html`<div class="progress" aria-hidden="true"><span style=${`width: ${Math.round(operationFraction(op) * 100)}%`}></span></div>`}
    <span class="op-text">${describeOperation(op)}</span>
  </div>`;
}

// What can be done with a plugin from the list: install, update, or go manage it.
function PluginAction({ plugin, prompt, onError }) {
  const op = useOperation(plugin.id);
  const busy = op && (op.state === 'queued' || op.state === 'running');
  const run = (start) => runReporting(start, onError);
  return html`<div class="market-action">
    ${op && html`<${Progress} op=${op} />`}
    ${!busy && (plugin.installed === null
      ? html`<button type="button" class="btn btn-primary btn-small" onClick=${() => run(() => startOperation({ action: 'install', id: plugin.id }))}>Install</button>`
      : plugin.updateAvailable
        ? html`<button type="button" class="btn btn-primary btn-small" onClick=${() => run(() => upgrade(plugin.id, prompt))}>Update to ${plugin.latest}</button>`
        : html`<span class="tag" data-installed=${plugin.installed}>Installed ${plugin.installed}</span>`)}
  </div>`;
}

function SignatureTag({ signed }) {
  return signed ? html`<span class="tag tag-ok" title="The publisher signed this package">Signed</span>`
    : html`<span class="tag tag-muted" title="The publisher did not sign this package">Unsigned</span>`;
}

function Catalog() {
  const [query, setQuery] = useState('');
  const [typed, setTyped] = useState('');
  const [category, setCategory] = useState('');
  const [sort, setSort] = useState('name');
  const [view, setView] = useState('all');
  const [actionError, setActionError] = useState(null);
  useEffect(() => {
    const t = setTimeout(() => setQuery(typed.trim()), 250);
    return () => clearTimeout(t);
  }, [typed]);
  const params = new URLSearchParams({ sort, ...(query ? { q: query } : {}), ...(category ? { category } : {}) });
  const { data, error, reload } = useResource(`/api/admin/marketplace?${params}`);
  useEffect(() => onOperationFinished(() => reload()), [reload]);
  const { prompt, dialog } = usePermissionPrompt();
  const plugins = data ? (view === 'updates' ? data.plugins.filter((p) => p.updateAvailable) : data.plugins) : [];
  return html`<div class="stack" data-page="marketplace">
    <${ErrorBox} error=${error || actionError} />
    <div class="market-toolbar">
      <input type="search" class="market-search" placeholder="Search plugins" aria-label="Search plugins" value=${typed}
        onInput=${(e) => setTyped(e.target.value)} />
      <select aria-label="Category" value=${category} onChange=${(e) => setCategory(e.target.value)}>
        <option value="">All categories</option>
        ${(data ? data.categories : []).map((c) => html`<option key=${c} value=${c}>${c}</option>`)}
      </select>
      <select aria-label="Sort by" value=${sort} onChange=${(e) => setSort(e.target.value)}>
        <option value="name">Name</option>
        <option value="downloads">Most downloaded</option>
        <option value="updated">Recently updated</option>
      </select>
    </div>
    <div class="subtabs" role="tablist">
      <button type="button" role="tab" class=${view === 'all' ? 'tab current' : 'tab'} aria-selected=${view === 'all'} onClick=${() => setView('all')}>All plugins</button>
      <button type="button" role="tab" class=${view === 'updates' ? 'tab current' : 'tab'} aria-selected=${view === 'updates'} data-testid="updates-tab"
        onClick=${() => setView('updates')}>Updates (${data ? data.updates : 0})</button>
    </div>
    ${!data ? (error ? null : html`<${Loading} />`) : plugins.length === 0
      ? html`<${Empty}>${view === 'updates' ? 'Every installed plugin is up to date.' : query || category ? 'No plugin matches.' : 'The source has no plugins.'}<//>`
      : html`<ul class="market-grid">${plugins.map((p) => html`<li key=${p.id} class="market-card" data-plugin=${p.id}>
          <div class="market-head">
            <${Link} href=${`/admin/marketplace/${encodeURIComponent(p.id)}`} class="plugin-name">${p.name}<//>
            <span class="plugin-meta">v${p.latest}${p.author ? ` · by ${p.author}` : ''}</span>
          </div>
          ${p.description && html`<p class="market-description">${p.description}</p>`}
          <div class="market-facts">
            ${p.category && html`<span class="tag">${p.category}</span>`}
            <${SignatureTag} signed=${p.signed} />
            ${p.size > 0 && html`<span class="muted">${formatBytes(p.size)}</span>`}
            ${p.downloads > 0 && html`<span class="muted">${p.downloads} downloads</span>`}
          </div>
          <${PluginAction} plugin=${p} prompt=${prompt} onError=${setActionError} />
        </li>`)}</ul>`}
    ${data && html`<p class="muted small">From ${data.source}.</p>`}
    ${dialog}
  </div>`;
}

function UninstallDialog({ plugin, onAnswer }) {
  const [keepData, setKeepData] = useState(false);
  return html`<${Dialog} title=${`Uninstall ${plugin.name}?`} testId="uninstall-dialog" onCancel=${() => onAnswer(null)}>
    <p>Its pages, routes and hooks go at once, in every open panel.</p>
    <label class="check"><input type="checkbox" name="keepData" checked=${keepData} onChange=${(e) => setKeepData(e.target.checked)} />
      Keep its data (tables and files stay for a later install)</label>
    <div class="modal-actions">
      <button type="button" class="btn" onClick=${() => onAnswer(null)}>Cancel</button>
      <button type="button" class="btn btn-danger" onClick=${() => onAnswer({ keepData })}>Uninstall</button>
    </div>
  <//>`;
}

function PluginPage({ id }) {
  const { data, error, reload } = useResource(`/api/admin/marketplace/plugins/${encodeURIComponent(id)}`);
  const [chosen, setChosen] = useState('');
  const [actionError, setActionError] = useState(null);
  const [uninstalling, setUninstalling] = useState(false);
  const op = useOperation(id);
  useEffect(() => onOperationFinished((finished) => finished.plugin === id && reload()), [reload, id]);
  const { prompt, dialog } = usePermissionPrompt(data ? data.permissionDescriptions : {});
  if (!data) return html`<div class="stack">${html`<${ErrorBox} error=${error} />`}${!error && html`<${Loading} />`}</div>`;
  const version = data.versions.find((v) => v.version === chosen) || data.versions[0];
  const busy = op && (op.state === 'queued' || op.state === 'running');
  const run = (start) => runReporting(start, setActionError);
  const isNew = (p) => data.installed && data.newPermissions && data.newPermissions.includes(p) && version === data.versions[0];
  return html`<div class="stack" data-page="marketplace-plugin" data-plugin=${id}>
    <p><${Link} href="/admin/marketplace">← Marketplace<//></p>
    <${ErrorBox} error=${error || actionError} />
    <${Card} title=${data.name}>
      <p class="plugin-meta">${data.id} · v${data.latest}${data.author ? ` · by ${data.author}` : ''}${data.category ? ` · ${data.category}` : ''}</p>
      ${data.description && html`<p>${data.description}</p>`}
      <div class="market-detail-actions">
        ${op && html`<${Progress} op=${op} />`}
        ${!busy && data.installed === null && html`
          <label class="inline-field">Version
            <select value=${version.version} onChange=${(e) => setChosen(e.target.value)} aria-label="Version to install">
              ${data.versions.map((v) => html`<option key=${v.version} value=${v.version}>${v.version}</option>`)}
            </select>
          </label>
          <button type="button" class="btn btn-primary" onClick=${() => run(() => startOperation({ action: 'install', id, version: version.version }))}>Install</button>`}
        ${!busy && data.installed !== null && html`
          <span class="tag">Installed ${data.installed}</span>
          ${data.updateAvailable && html`<button type="button" class="btn btn-primary" onClick=${() => run(() => upgrade(id, prompt))}>Update to ${data.latest}</button>`}
          <${Link} href=${`/admin/plugins/${encodeURIComponent(id)}`} class="btn">Settings<//>
          <button type="button" class="btn btn-danger" onClick=${() => setUninstalling(true)}>Uninstall</button>`}
      </div>
    <//>
    <div class="grid-2">
      <${Card} title=${`Version ${version.version}`}>
        <dl class="kv">
          <dt>Size</dt><dd>${version.size > 0 ? formatBytes(version.size) : 'unknown'}</dd>
          <dt>Publisher's signature</dt><dd data-testid="signature">${version.signed ? html`Signed by key <code>${version.signerKeyId || 'unknown'}</code>` : 'Not signed'}</dd>
          <dt>Source's metadata</dt><dd data-testid="verification">${version.registryVerified ? 'Verified with the registry\'s key' : 'Not signed by the source (a folder or a plain server)'}</dd>
          ${version.hostRange && html`<dt>Host version</dt><dd>${version.hostRange}</dd>`}
          ${version.publishedAt && html`<dt>Published</dt><dd>${formatTime(version.publishedAt)}</dd>`}
        </dl>
      <//>
      <${Card} title="Permissions">
        ${version.permissions === null ? html`<p class="muted">The source does not say what this version asks for.</p>`
          : version.permissions.length === 0 ? html`<p class="muted">Asks for no permissions.</p>`
          : html`<ul class="permission-list" data-testid="permissions">${version.permissions.map((p) => html`<li key=${p}>
              <code>${p}</code> ${isNew(p) && html`<span class="tag tag-warn">new</span>`}
              <span class="muted">${data.permissionDescriptions[p] || ''}</span></li>`)}</ul>`}
      <//>
    </div>
    <${Card} title="Versions">
      <div class="table-scroll"><table class="table">
        <thead><tr><th>Version</th><th>Published</th><th>Size</th><th>Signed</th><th>Permissions</th></tr></thead>
        <tbody>${data.versions.map((v) => html`<tr key=${v.version}>
          <td>${v.version}${v.version === data.installed ? html` <span class="tag">installed</span>` : ''}</td>
          <td>${v.publishedAt ? formatTime(v.publishedAt) : '–'}</td>
          <td>${v.size > 0 ? formatBytes(v.size) : '–'}</td>
          <td>${v.signed ? 'yes' : 'no'}</td>
          <td class="wide-cell">${v.permissions === null ? '?' : v.permissions.length ? v.permissions.join(', ') : 'none'}</td>
        </tr>`)}</tbody>
      </table></div>
    <//>
    <${Card} title="README">
      ${data.readmeHtml ? html`<div class="readme" data-testid="readme" dangerouslySetInnerHTML=${{ __html: data.readmeHtml }}></div>`
        : html`<p class="muted">This plugin has no README.</p>`}
    <//>
    ${uninstalling && html`<${UninstallDialog} plugin=${data} onAnswer=${(answer) => {
      setUninstalling(false);
      if (answer) run(() => startOperation({ action: 'uninstall', id, keepData: answer.keepData }));
    }} />`}
    ${dialog}
  </div>`;
}

export function Marketplace({ id }) {
  return id ? html`<${PluginPage} key=${id} id=${id} />` : html`<${Catalog} />`;
}
