// Administration: overview, users, nodes, all servers, plugins, audit log,
// under tabs (the admin:tabs hook decides what they are).
import { html } from '../html.js';
import { PluginFrame } from '../plugins/plugin_frame.js';
import { pluginAdminPages, usePlugins } from '../plugins/store.js';
import { useState } from 'preact/hooks';
import { del, post, put } from '../api.js';
import { useResource } from '../data.js';
import { useLiveServers } from '../live_servers.js';
import { Link } from '../router.js';
import { useSession } from '../session.js';
import { ActionButton, Card, Empty, ErrorBox, Field, Loading, PageHeader, formatMiB, formatTime, useCurrentTabInView } from '../ui.js';
import { ServerRows } from './servers.js';
import { PluginDetail, Plugins } from './admin_plugins.js';
import { Marketplace } from './marketplace.js';

function RegistrationSwitch() {
  const { data, error, reload } = useResource('/api/admin/settings');
  const [actionError, setActionError] = useState(null);
  // What the administrator just chose, shown until the server's answer says
  // the same (a render in between must not flip the box back).
  const [chosen, setChosen] = useState(null);
  if (!data) return error ? html`<${ErrorBox} error=${error} />` : html`<${Loading} />`;
  const open = chosen !== null ? chosen : data.registrationOpen;
  const change = async (e) => {
    const wanted = e.target.checked;
    setChosen(wanted);
    setActionError(null);
    try {
      await put('/api/admin/settings', { registrationOpen: wanted });
    } catch (err) {
      setActionError(err);
      setChosen(null);
    }
    reload();
  };
  if (chosen !== null && data.registrationOpen === chosen) setChosen(null);
  return html`<div>
    <${ErrorBox} error=${actionError} />
    <label class="check"><input type="checkbox" name="registrationOpen" checked=${open} onChange=${change} /> Anyone may register an account</label>
    <p class="field-hint">${chosen !== null ? 'Saving…' : data.registrationOpen ? 'Open: the log-in page offers registration.' : 'Closed: only administrators create accounts (Users).'}</p>
  </div>`;
}

function Overview() {
  const users = useResource('/api/admin/users?per_page=1');
  const servers = useResource('/api/admin/servers?per_page=1');
  const nodes = useResource('/api/admin/nodes');
  const plugins = useResource('/api/admin/plugins');
  const stat = (value, label, href) => html`<${Link} href=${href} class="stat card"><span class="stat-value">${value ?? '–'}</span><span class="stat-label">${label}</span><//>`;
  return html`<div class="stack">
    <div class="stats stats-4">
      ${stat(users.data && users.data.meta.total, 'Users', '/admin/users')}
      ${stat(servers.data && servers.data.meta.total, 'Servers', '/admin/servers')}
      ${stat(nodes.data && nodes.data.nodes.length, 'Nodes', '/admin/nodes')}
      ${stat(plugins.data && plugins.data.plugins.filter((p) => p.active).length, 'Active plugins', '/admin/plugins')}
    </div>
    <${Card} title="Registration"><${RegistrationSwitch} /><//>
  </div>`;
}

function Users() {
  const { user: me } = useSession();
  const [search, setSearch] = useState('');
  const { data, error, reload } = useResource(`/api/admin/users?per_page=100&search=${encodeURIComponent(search)}`);
  const [actionError, setActionError] = useState(null);
  const [form, setForm] = useState({ username: '', password: '', email: '', isAdmin: false });
  const create = async (e) => {
    e.preventDefault();
    setActionError(null);
    try {
      await post('/api/admin/users', { user: form });
      setForm({ username: '', password: '', email: '', isAdmin: false });
      reload();
    } catch (err) {
      setActionError(err);
    }
  };
  return html`<div class="stack">
    <${ErrorBox} error=${error || actionError} />
    <${Card} title="Users" actions=${html`<input type="search" aria-label="Search users" placeholder="Search" value=${search} onInput=${(e) => setSearch(e.target.value)} />`}>
      ${!data ? html`<${Loading} />` : html`<table class="table">
        <thead><tr><th>User</th><th>E-mail</th><th>Role</th><th>Since</th><th><span class="sr-only">Actions</span></th></tr></thead>
        <tbody>${data.users.map((u) => html`<tr key=${u.id} data-user=${u.username}>
          <td>${u.username}</td><td>${u.email || '–'}</td>
          <td><select aria-label=${`Role of ${u.username}`} value=${u.role} disabled=${u.id === me.id}
            onChange=${async (e) => {
              try {
                setActionError(null);
                await put(`/api/admin/users/${u.id}`, { updates: { role: e.target.value } });
              } catch (err) {
                setActionError(err);
              }
              reload();
            }}><option value="user">user</option><option value="admin">admin</option></select></td>
          <td>${formatTime(u.createdAt)}</td>
          <td>${u.id !== me.id && html`<${ActionButton} kind="danger" onError=${setActionError}
            confirm=${`Delete ${u.username} and their servers?`} action=${async () => {
              await del(`/api/admin/users/${u.id}`);
              reload();
            }}>Delete<//>`}</td></tr>`)}</tbody>
      </table>`}
    <//>
    <${Card} title="Create a user">
      <form class="form" onSubmit=${create}>
        <div class="form-row">
          <${Field} label="Username"><input required value=${form.username} onInput=${(e) => setForm({ ...form, username: e.target.value })} /><//>
          <${Field} label="E-mail"><input type="email" value=${form.email} onInput=${(e) => setForm({ ...form, email: e.target.value })} /><//>
          <${Field} label="Password"><input type="password" autocomplete="new-password" required minlength="6" value=${form.password} onInput=${(e) => setForm({ ...form, password: e.target.value })} /><//>
        </div>
        <label class="check"><input type="checkbox" checked=${form.isAdmin} onChange=${(e) => setForm({ ...form, isAdmin: e.target.checked })} /> Administrator</label>
        <div class="form-actions"><button type="submit" class="btn btn-primary">Create user</button></div>
      </form>
    <//>
  </div>`;
}

function Nodes() {
  const { data, error, reload } = useResource('/api/admin/nodes');
  const [actionError, setActionError] = useState(null);
  const [form, setForm] = useState({ name: '', location: '', memory: 8192, disk: 51200 });
  const create = async (e) => {
    e.preventDefault();
    setActionError(null);
    try {
      await post('/api/admin/nodes', { node: { ...form, memory: Number(form.memory), disk: Number(form.disk) } });
      setForm({ name: '', location: '', memory: 8192, disk: 51200 });
      reload();
    } catch (err) {
      setActionError(err);
    }
  };
  return html`<div class="stack">
    <${ErrorBox} error=${error || actionError} />
    <${Card} title="Nodes">
      ${!data ? html`<${Loading} />` : data.nodes.length === 0 ? html`<${Empty}>No nodes: servers cannot be created until one exists.<//>` : html`<table class="table">
        <thead><tr><th>Node</th><th>Location</th><th>Servers</th><th>Memory</th><th>Disk</th><th><span class="sr-only">Actions</span></th></tr></thead>
        <tbody>${data.nodes.map((n) => html`<tr key=${n.id}>
          <td>${n.name}</td><td>${n.location || '–'}</td><td>${n.servers}</td>
          <td><meter min="0" max=${n.memory} value=${n.allocated_memory} aria-label=${`Memory allocated on ${n.name}`}></meter> ${formatMiB(n.allocated_memory)} / ${formatMiB(n.memory)}</td>
          <td>${formatMiB(n.allocated_disk)} / ${formatMiB(n.disk)}</td>
          <td><${ActionButton} kind="danger" onError=${setActionError} confirm=${`Delete node ${n.name}?`} action=${async () => {
            await del(`/api/admin/nodes/${n.id}`);
            reload();
          }}>Delete<//></td></tr>`)}</tbody>
      </table>`}
    <//>
    <${Card} title="Add a node">
      <form class="form" onSubmit=${create}>
        <div class="form-row">
          <${Field} label="Name"><input required maxlength="50" value=${form.name} onInput=${(e) => setForm({ ...form, name: e.target.value })} /><//>
          <${Field} label="Location"><input maxlength="100" value=${form.location} onInput=${(e) => setForm({ ...form, location: e.target.value })} /><//>
          <${Field} label="Memory (MiB)"><input type="number" min="128" required value=${form.memory} onInput=${(e) => setForm({ ...form, memory: e.target.value })} /><//>
          <${Field} label="Disk (MiB)"><input type="number" min="1024" required value=${form.disk} onInput=${(e) => setForm({ ...form, disk: e.target.value })} /><//>
        </div>
        <div class="form-actions"><button type="submit" class="btn btn-primary">Add node</button></div>
      </form>
    <//>
  </div>`;
}

function AllServers() {
  const { data, error, setData } = useResource('/api/admin/servers?per_page=100');
  const [actionError, setActionError] = useState(null);
  useLiveServers((update) => setData((d) => (d ? { ...d, servers: update(d.servers) } : d)));
  return html`<div class="stack">
    <${ErrorBox} error=${error || actionError} />
    <${Card} title=${data ? `All servers (${data.meta.total})` : 'All servers'}>
      ${!data ? html`<${Loading} />` : data.servers.length === 0 ? html`<${Empty}>No servers yet.<//>`
        : html`<${ServerRows} servers=${data.servers} onError=${setActionError} showOwner />`}
    <//>
  </div>`;
}

function Audit() {
  const { data, error } = useResource('/api/admin/audit');
  return html`<${Card} title="Audit log">
    <${ErrorBox} error=${error} />
    ${!data ? html`<${Loading} />` : data.events.length === 0 ? html`<${Empty}>Nothing was installed, upgraded or uninstalled yet.<//>` : html`<table class="table stacks">
      <thead><tr><th>When</th><th>Who</th><th>What</th><th>Plugin</th><th>Result</th></tr></thead>
      <tbody>${data.events.map((e, i) => html`<tr key=${i}><td data-label="When">${formatTime(e.at)}</td><td data-label="Who"><span>${e.actor}${e.actorKind === 'token' ? html` <span class="muted">(API token)</span>` : ''}</span></td>
        <td data-label="What">${e.action}</td><td data-label="Plugin">${e.plugin}</td>
        <td data-label="Result"><span>${e.ok ? 'done' : html`<span class="error-text">failed</span>`} ${e.detail}</span></td></tr>`)}</tbody>
    </table>`}
  <//>`;
}

// A plugin's admin page (Sodium's ui.addAdminPage) or tab (seed 004's
// addAdminTab, with its subtabs).
function AdminExtension({ page }) {
  const subtabs = Array.isArray(page.subtabs) ? page.subtabs : [];
  const [subtab, setSubtab] = useState(subtabs[0]);
  return html`<div class="stack">
    ${subtabs.length > 0 && html`<div class="subtabs" role="tablist">${subtabs.map((t) => html`<button type="button" role="tab" key=${t}
      class=${t === subtab ? 'tab current' : 'tab'} aria-selected=${t === subtab} onClick=${() => setSubtab(t)}>${t}</button>`)}</div>`}
    <${Card}><${PluginFrame} plugin=${page.plugin} title=${page.title || page.label || page.id}
      surface=${{ kind: page.kind, id: page.id, subtab }} /><//>
  </div>`;
}

const sections = { overview: Overview, users: Users, nodes: Nodes, servers: AllServers, plugins: Plugins, marketplace: Marketplace, audit: Audit };

export function Admin({ section = 'overview', id }) {
  const { user, navigation } = useSession();
  if (!user.isAdmin) return html`<div class="page"><${PageHeader} title="Administration" /><${ErrorBox} error=${'Admin access required'} /></div>`;
  usePlugins();
  const extra = pluginAdminPages().map((p) => ({ id: `plugin.${p.plugin.id}.${p.id}`, label: String(p.title || p.label || p.id),
    path: `/admin/extensions/${encodeURIComponent(`${p.plugin.id}.${p.id}`)}`, page: p }));
  const tabs = [...(navigation ? navigation.adminTabs : []), ...extra];
  const strip = useCurrentTabInView(`${location.pathname} ${tabs.length}`);
  const pluginPage = section === 'extensions' ? extra.find((t) => `${t.page.plugin.id}.${t.page.id}` === id) : null;
  const Section = section === 'plugins' && id ? PluginDetail : sections[section];
  return html`<div class="page" data-page=${`admin-${section}`}>
    <${PageHeader} title="Administration" />
    <nav class="tabs" aria-label="Administration sections" ref=${strip}>
      ${tabs.map((t) => {
        const current = t.path === '/admin' ? section === 'overview' : location.pathname.startsWith(t.path);
        return html`<${Link} key=${t.id} href=${t.path} class=${current ? 'tab current' : 'tab'} aria-current=${current ? 'page' : undefined}>${t.label}<//>`;
      })}
    </nav>
    ${pluginPage ? html`<${AdminExtension} key=${pluginPage.id} page=${pluginPage.page} />` : Section ? html`<${Section} id=${id} />` : html`<p>No such section.</p>`}
  </div>`;
}
