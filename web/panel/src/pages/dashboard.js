// The dashboard: your servers at a glance, live; room for plugins' widgets.
import { html } from '../html.js';
import { PluginFrame } from '../plugins/plugin_frame.js';
import { pluginWidgets, usePlugins } from '../plugins/store.js';
import { useState } from 'preact/hooks';
import { useResource } from '../data.js';
import { useLiveServers } from '../live_servers.js';
import { Link } from '../router.js';
import { useSession } from '../session.js';
import { Card, Empty, ErrorBox, Loading, PageHeader } from '../ui.js';
import { ServerRows } from './servers.js';

export function Dashboard() {
  const { user } = useSession();
  const { data, error, setData } = useResource('/api/servers');
  const [actionError, setActionError] = useState(null);
  useLiveServers((update) => setData((d) => (d ? { ...d, servers: update(d.servers) } : d)));
  const servers = data ? data.servers : null;
  usePlugins();
  const widgets = pluginWidgets();
  const running = servers ? servers.filter((s) => s.status === 'running').length : 0;
  return html`<div class="page" data-page="dashboard">
    <${PageHeader} title=${`Welcome, ${user.username}`} subtitle="Your servers at a glance.">
      <${Link} href="/servers/new" class="btn btn-primary">New server<//>
    <//>
    <${ErrorBox} error=${error || actionError} />
    <div class="stats">
      <div class="stat card"><span class="stat-value" data-testid="count-servers">${servers ? servers.length : '–'}</span><span class="stat-label">Servers</span></div>
      <div class="stat card"><span class="stat-value" data-testid="count-running">${servers ? running : '–'}</span><span class="stat-label">Running</span></div>
      <div class="stat card"><span class="stat-value">${servers ? servers.length - running : '–'}</span><span class="stat-label">Stopped</span></div>
    </div>
    <${Card} title="Your servers" actions=${html`<${Link} href="/servers">See all<//>`}>
      ${!servers ? html`<${Loading} />` : servers.length === 0
        ? html`<${Empty}>No servers yet. <${Link} href="/servers/new">Create one<//> to get started.<//>`
        : html`<${ServerRows} servers=${servers.slice(0, 8)} onError=${setActionError} />`}
    <//>
    ${widgets.length > 0 && html`<section class="widgets" id="plugin-widgets" aria-label="Plugin widgets">
      ${widgets.map((w) => html`<div key=${`${w.plugin.id}.${w.id}`} class=${`widget card widget-${['small', 'medium', 'large', 'full'].includes(w.size) ? w.size : 'medium'}`}
        data-widget=${`${w.plugin.id}.${w.id}`}>
        ${w.title && html`<h2 class="widget-title">${w.title}</h2>`}
        <${PluginFrame} plugin=${w.plugin} title=${w.title || w.id} surface=${{ kind: 'widget', id: w.id }} />
      </div>`)}
    </section>`}
  </div>`;
}
