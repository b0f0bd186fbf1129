// Plugins, for administrators: what is installed and whether it runs;
// each plugin's settings (a form made from its manifest; secrets are
// write-only: the browser only ever learns whether one is set), its
// outbound-network grant, its logs; activate, deactivate, uninstall.
import { html } from '../html.js';
import { useSession } from '../session.js';
import { placeSidebarItems } from '../plugins/sidebar.js';
import { pluginProblems, usePlugins } from '../plugins/store.js';
import { useState } from 'preact/hooks';
import { del, post, put } from '../api.js';
import { useResource } from '../data.js';
import { Link, navigate } from '../router.js';
import { ActionButton, Card, Empty, ErrorBox, Field, Loading, Notice, formatTime } from '../ui.js';

const kMask = '********';

// What plugins' client code could not do, for administrators to fix.
function UiProblems() {
  const { navigation } = useSession();
  const plugins = usePlugins();
  const panelItems = navigation ? navigation.sidebar.filter((i) => i.section !== 'admin') : [];
  const problems = [...pluginProblems(), ...placeSidebarItems(panelItems, plugins.plugins, plugins.declared).problems];
  if (problems.length === 0) return null;
  return html`<div class="alert alert-warning" role="status" data-testid="plugin-ui-problems">
    <strong>Plugins' pages and menus</strong>
    <ul>${problems.map((p) => html`<li key=${p}>${p}</li>`)}</ul>
  </div>`;
}

export function Plugins() {
  const { data, error, reload } = useResource('/api/admin/plugins');
  const [actionError, setActionError] = useState(null);
  return html`<div class="stack">
    <${ErrorBox} error=${error || actionError} />
    <${UiProblems} />
    <${Card} title="Installed plugins">
      ${!data ? html`<${Loading} />` : data.plugins.length === 0 ? html`<${Empty}>No plugins installed.<//>` : html`<ul class="plugin-list">
        ${data.plugins.map((p) => html`<li key=${p.id} class="plugin-row" data-plugin=${p.id}>
          <div class="plugin-main">
            <${Link} href=${`/admin/plugins/${encodeURIComponent(p.id)}`} class="plugin-name">${p.name}<//>
            <span class="plugin-meta">${p.id}${p.version ? ` · v${p.version}` : ''}${p.type ? ` · ${p.type}` : ''}${p.author ? ` · by ${p.author}` : ''}</span>
            ${p.description && html`<span class="plugin-description">${p.description}</span>`}
            ${p.error && html`<span class="error-text">${p.error}</span>`}
          </div>
          <span class=${p.active ? 'badge status-running' : 'badge status-offline'} data-active=${p.active}><span class="dot" aria-hidden="true"></span>${p.active ? 'Active' : 'Inactive'}</span>
          <${ActionButton} onError=${setActionError} kind=${p.active ? 'secondary' : 'primary'}
            action=${async () => {
              await post(`/api/admin/plugins/${encodeURIComponent(p.id)}/${p.active ? 'deactivate' : 'activate'}`);
              reload();
            }}>${p.active ? 'Deactivate' : 'Activate'}<//>
        </li>`)}
      </ul>`}
    <//>
  </div>`;
}

function SettingInput({ name, spec, value, onChange, secretState, onSecret }) {
  const id = `setting-${name}`;
  const label = spec.label || name;
  if (spec.secret) {
    const isSet = value === kMask;
    return html`<div class="field secret-field">
      <span class="field-label" id=${`${id}-label`}>${label} ${isSet && secretState.action !== 'clear' && html`<span class="tag" data-secret-set=${name}>set</span>`}</span>
      ${secretState.action === 'replace'
        ? html`<input id=${id} aria-labelledby=${`${id}-label`} type="password" autocomplete="off" placeholder="New value"
            value=${secretState.value} onInput=${(e) => onSecret({ action: 'replace', value: e.target.value })} />`
        : html`<span class="muted">${secretState.action === 'clear' ? 'Will be cleared when you save.' : isSet ? 'Hidden; never sent to the browser.' : 'Not set.'}</span>`}
      <span class="secret-actions">
        ${secretState.action !== 'replace' && html`<button type="button" class="btn btn-small" onClick=${() => onSecret({ action: 'replace', value: '' })}>${isSet ? 'Replace' : 'Set'}</button>`}
        ${isSet && secretState.action !== 'clear' && html`<button type="button" class="btn btn-small" onClick=${() => onSecret({ action: 'clear' })}>Clear</button>`}
        ${secretState.action && html`<button type="button" class="btn btn-small btn-ghost" onClick=${() => onSecret({})}>Cancel</button>`}
      </span>
      ${spec.description && html`<span class="field-hint">${spec.description}</span>`}
    </div>`;
  }
  if (spec.type === 'boolean') {
    return html`<label class="check"><input type="checkbox" name=${name} checked=${!!value} onChange=${(e) => onChange(e.target.checked)} /> ${label}
      ${spec.description && html`<span class="field-hint">${spec.description}</span>`}</label>`;
  }
  let input;
  if (spec.type === 'select') {
    input = html`<select name=${name} value=${value ?? ''} onChange=${(e) => onChange(e.target.value)}>
      ${(spec.options || []).map((o) => html`<option key=${o} value=${o}>${o}</option>`)}</select>`;
  } else if (spec.type === 'number') {
    input = html`<input type="number" name=${name} step="any" value=${value ?? ''} onInput=${(e) => onChange(e.target.value === '' ? null : Number(e.target.value))} />`;
  } else if (spec.type === 'text') {
    input = html`<textarea name=${name} rows="3" value=${value ?? ''} onInput=${(e) => onChange(e.target.value)}></textarea>`;
  } else {
    input = html`<input name=${name} value=${value ?? ''} onInput=${(e) => onChange(e.target.value)} />`;
  }
  return html`<${Field} label=${label} hint=${spec.description}>${input}<//>`;
}

function SettingsForm({ id }) {
  const { data, error, reload } = useResource(`/api/admin/plugins/${encodeURIComponent(id)}/settings`);
  const [edits, setEdits] = useState({});
  const [secrets, setSecrets] = useState({});
  const [saveError, setSaveError] = useState(null);
  const [saved, setSaved] = useState(false);
  if (!data) return error ? html`<${ErrorBox} error=${error} />` : html`<${Loading} />`;
  const schema = data.schema || {};
  const keys = Object.keys(schema);
  if (keys.length === 0) return html`<${Empty}>This plugin has no settings.<//>`;
  const save = async (e) => {
    e.preventDefault();
    setSaveError(null);
    setSaved(false);
    const values = { ...edits };
    for (const [key, s] of Object.entries(secrets)) {
      if (s.action === 'replace' && s.value) values[key] = s.value;
      if (s.action === 'clear') values[key] = '';
    }
    try {
      await put(`/api/admin/plugins/${encodeURIComponent(id)}/settings`, { values });
      setEdits({});
      setSecrets({});
      setSaved(true);
      reload();
    } catch (err) {
      setSaveError(err);
    }
  };
  return html`<form class="form" onSubmit=${save} data-testid="settings-form">
    <${ErrorBox} error=${saveError} />
    ${saved && html`<${Notice} kind="success">Settings saved.<//>`}
    ${keys.map((key) => html`<${SettingInput} key=${key} name=${key} spec=${schema[key]}
      value=${key in edits ? edits[key] : data.values[key]} onChange=${(v) => setEdits({ ...edits, [key]: v })}
      secretState=${secrets[key] || {}} onSecret=${(s) => setSecrets({ ...secrets, [key]: s })} />`)}
    <div class="form-actions"><button type="submit" class="btn btn-primary">Save settings</button></div>
  </form>`;
}

function Grants({ id }) {
  const { data, error, reload } = useResource(`/api/admin/plugins/${encodeURIComponent(id)}/grants`);
  const [form, setForm] = useState(null);
  const [actionError, setActionError] = useState(null);
  if (!data) return error ? html`<${ErrorBox} error=${error} />` : html`<${Loading} />`;
  const current = form || { fetch: data.fetch, hosts: data.hosts.join(', ') };
  const save = async (e) => {
    e.preventDefault();
    setActionError(null);
    try {
      await put(`/api/admin/plugins/${encodeURIComponent(id)}/grants`, {
        fetch: current.fetch, hosts: current.hosts.split(/[\s,]+/).filter(Boolean),
      });
      setForm(null);
      reload();
    } catch (err) {
      setActionError(err);
    }
  };
  return html`<form class="form" onSubmit=${save}>
    <${ErrorBox} error=${actionError} />
    <p class="muted">The manifest ${data.manifestPermits ? 'asks for' : 'does not ask for'} outbound network access.
      ${data.grant ? ' An administrator decided otherwise or limited it.' : ''}</p>
    <label class="check"><input type="checkbox" name="fetch" checked=${current.fetch} onChange=${(e) => setForm({ ...current, fetch: e.target.checked })} /> May make outbound HTTP requests</label>
    <${Field} label="Only to these hosts" hint="Host names, separated by commas; empty: any host.">
      <input name="hosts" value=${current.hosts} onInput=${(e) => setForm({ ...current, hosts: e.target.value })} />
    <//>
    <div class="form-actions">
      <button type="submit" class="btn btn-primary">Save grant</button>
      ${data.grant && html`<${ActionButton} onError=${setActionError} action=${async () => {
        await del(`/api/admin/plugins/${encodeURIComponent(id)}/grants`);
        setForm(null);
        reload();
      }}>Back to the manifest's<//>`}
    </div>
  </form>`;
}

function Logs({ id }) {
  const { data, error, reload } = useResource(`/api/admin/plugins/${encodeURIComponent(id)}/logs`);
  if (!data) return error ? html`<${ErrorBox} error=${error} />` : html`<${Loading} />`;
  return html`<div>
    <div class="console" role="log">${data.logs.length === 0 ? html`<p class="muted">No log lines.</p>` : data.logs.map((l, i) => html`<div key=${i} class=${`console-line level-${l.level}`}>
      <time datetime=${l.at}>${formatTime(l.at)}</time> <strong>${l.level}</strong> ${l.message}</div>`)}</div>
    <p><button type="button" class="btn btn-small" onClick=${reload}>Refresh</button></p>
  </div>`;
}

export function PluginDetail({ id }) {
  const list = useResource('/api/admin/plugins');
  const [actionError, setActionError] = useState(null);
  const plugin = list.data && list.data.plugins.find((p) => p.id === id);
  if (list.data && !plugin) return html`<${ErrorBox} error=${`Plugin "${id}" is not installed.`} />`;
  if (!plugin) return html`<${Loading} />`;
  return html`<div class="stack" data-plugin-detail=${id}>
    <${ErrorBox} error=${actionError} />
    <${Card} title=${plugin.name} actions=${html`<span class=${plugin.active ? 'badge status-running' : 'badge status-offline'}><span class="dot" aria-hidden="true"></span>${plugin.active ? 'Active' : 'Inactive'}</span>`}>
      <p class="muted">${plugin.id}${plugin.version ? ` · v${plugin.version}` : ''}${plugin.type ? ` · ${plugin.type}` : ''}${plugin.author ? ` · by ${plugin.author}` : ''}</p>
      ${plugin.description && html`<p>${plugin.description}</p>`}
      ${plugin.error && html`<p class="error-text">${plugin.error}</p>`}
      <div class="form-actions">
        <${ActionButton} onError=${setActionError} kind=${plugin.active ? 'secondary' : 'primary'} action=${async () => {
          await post(`/api/admin/plugins/${encodeURIComponent(id)}/${plugin.active ? 'deactivate' : 'activate'}`);
          list.reload();
        }}>${plugin.active ? 'Deactivate' : 'Activate'}<//>
        <${ActionButton} kind="danger" onError=${setActionError} confirm=${`Uninstall ${plugin.name}? Its data is removed too.`} action=${async () => {
          await post(`/api/admin/plugins/${encodeURIComponent(id)}/uninstall`, {});
          navigate('/admin/plugins');
        }}>Uninstall<//>
      </div>
    <//>
    <${Card} title="Settings"><${SettingsForm} id=${id} /><//>
    <${Card} title="Outbound network"><${Grants} id=${id} /><//>
    <${Card} title="Logs"><${Logs} id=${id} /><//>
  </div>`;
}
