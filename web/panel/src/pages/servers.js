// Your servers: live status, power buttons, a way to make one.
import { html } from '../html.js';
import { useState } from 'preact/hooks';
import { post } from '../api.js';
import { useResource } from '../data.js';
import { useLiveServers } from '../live_servers.js';
import { Link } from '../router.js';
import { ActionButton, Card, Empty, ErrorBox, Loading, PageHeader, StatusBadge, formatMiB } from '../ui.js';

export function PowerButtons({ server, onError, compact }) {
  const power = (action) => () => post(`/api/servers/${server.id}/power`, { action });
  const s = server.status;
  return html`<div class="power" role="group" aria-label=${`Power for ${server.name}`}>
    ${(s === 'offline') && html`<${ActionButton} kind="primary" action=${power('start')} onError=${onError}>Start<//>`}
    ${(s === 'running' || s === 'starting') && html`<${ActionButton} action=${power('stop')} onError=${onError}>Stop<//>`}
    ${(s === 'running') && html`<${ActionButton} action=${power('restart')} onError=${onError}>Restart<//>`}
    ${!compact && s !== 'offline' && html`<${ActionButton} kind="danger" action=${power('kill')} onError=${onError}
      confirm="Kill the server? It stops at once, without saving.">Kill<//>`}
  </div>`;
}

export function ServerRows({ servers, onError, showOwner }) {
  return html`<ul class="server-list">
    ${servers.map((s) => html`<li key=${s.id} class="server-row" data-server-id=${s.id}>
      <div class="server-main">
        <${Link} href=${`/servers/${s.id}`} class="server-name">${s.name}<//>
        <span class="server-meta">${s.node_name || 'no node'} · ${formatMiB(s.limits.memory)} · ${s.limits.cpu}% CPU${showOwner && s.owner_username ? ` · ${s.owner_username}` : ''}</span>
      </div>
      <${StatusBadge} status=${s.status} />
      <${PowerButtons} server=${s} onError=${onError} compact />
    </li>`)}
  </ul>`;
}

export function ServerList() {
  const { data, error, setData } = useResource('/api/servers');
  const [actionError, setActionError] = useState(null);
  useLiveServers((update) => setData((d) => (d ? { ...d, servers: update(d.servers) } : d)));
  const servers = data ? data.servers : null;
  return html`<div class="page">
    <${PageHeader} title="Servers" subtitle="Your game servers, live.">
      <${Link} href="/servers/new" class="btn btn-primary">New server<//>
    <//>
    <${ErrorBox} error=${error || actionError} />
    <${Card}>
      ${!servers ? html`<${Loading} />` : servers.length === 0
        ? html`<${Empty}>You have no servers yet. <${Link} href="/servers/new">Create your first<//>.<//>`
        : html`<${ServerRows} servers=${servers} onError=${setActionError} />`}
    <//>
  </div>`;
}
