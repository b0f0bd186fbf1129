// One server: power (kill included), live status and resources, its log,
// settings; a tab strip with room for plugins' tabs.
import { html } from '../html.js';
import { PluginFrame } from '../plugins/plugin_frame.js';
import { pluginServerTabs, usePlugins } from '../plugins/store.js';
import { useEffect, useRef, useState } from 'preact/hooks';
import { del, put } from '../api.js';
import { useResource } from '../data.js';
import { liveEvents } from '../events.js';
import { Link, navigate } from '../router.js';
import { ActionButton, Card, ErrorBox, Field, Loading, Notice, PageHeader, StatusBadge, formatBytes, formatDuration, formatMiB, formatTime,
  useCurrentTabInView } from '../ui.js';
import { PowerButtons } from './servers.js';

const kSamples = 60;

// CPU and memory over the last samples, as two lines (percent of the limit).
function UsageGraph({ samples }) {
  const w = 300, h = 100;
  // The newest sample at the right edge; older ones leftwards.
  const offset = kSamples - samples.length;
  const line = (pick) => samples.map((u, i) => `${((offset + i) / (kSamples - 1)) * w},${h - Math.min(100, pick(u)) * (h / 100)}`).join(' ');
  return html`<figure class="graph">
    <svg viewBox=${`0 0 ${w} ${h}`} preserveAspectRatio="none" role="img" aria-label="CPU and memory over the last minutes">
      <polyline class="graph-grid" points=${`0,${h / 2} ${w},${h / 2}`} />
      <polyline class="graph-cpu" points=${line((u) => u.cpuPercentOfLimit)} />
      <polyline class="graph-memory" points=${line((u) => (u.memory / u.memoryLimit) * 100)} />
    </svg>
    <figcaption><span><span class="key key-cpu"></span> CPU</span><span><span class="key key-memory"></span> Memory</span><span>(percent of the server's limits)</span></figcaption>
  </figure>`;
}

function Resources({ server, usage, samples }) {
  if (server.status !== 'running' || !usage) {
    return html`<p class="muted">${server.status === 'running' ? 'Waiting for the first report…' : 'The server reports its usage while it runs.'}</p>`;
  }
  return html`<div>
    <dl class="meters">
      <div><dt>CPU</dt><dd data-testid="usage-cpu">${usage.cpu.toFixed(1)}%<small> of ${server.limits.cpu}%</small></dd></div>
      <div><dt>Memory</dt><dd>${formatBytes(usage.memory)}<small> of ${formatBytes(usage.memoryLimit)}</small></dd></div>
      <div><dt>Disk</dt><dd>${formatBytes(usage.disk)}<small> of ${formatBytes(usage.diskLimit)}</small></dd></div>
      <div><dt>Uptime</dt><dd>${formatDuration(usage.uptime)}</dd></div>
    </dl>
    <${UsageGraph} samples=${samples} />
  </div>`;
}

function Console({ lines }) {
  const end = useRef(null);
  useEffect(() => {
    if (end.current) end.current.scrollTop = end.current.scrollHeight;
  }, [lines.length]);
  return html`<div class="console" ref=${end} role="log" aria-live="polite" aria-label="Server log">
    ${lines.length === 0 ? html`<p class="muted">Nothing yet.</p>` : lines.map((l, i) => html`<div key=${i} class="console-line">
      <time datetime=${l.at}>${new Date(l.at).toLocaleTimeString()}</time> ${l.text}</div>`)}
  </div>`;
}

function Settings({ server, onSaved }) {
  const [form, setForm] = useState({ name: server.name, description: server.description || '' });
  const [error, setError] = useState(null);
  const [saved, setSaved] = useState(false);
  const save = async (e) => {
    e.preventDefault();
    setError(null);
    setSaved(false);
    try {
      const answer = await put(`/api/servers/${server.id}/details`, form);
      onSaved(answer.server);
      setSaved(true);
    } catch (err) {
      setError(err);
    }
  };
  return html`<div class="stack">
    <form class="form" onSubmit=${save}>
      <${ErrorBox} error=${error} />
      ${saved && html`<${Notice} kind="success">Saved.<//>`}
      <${Field} label="Name"><input name="name" required maxlength="50" value=${form.name} onInput=${(e) => setForm({ ...form, name: e.target.value })} /><//>
      <${Field} label="Description"><textarea name="description" maxlength="200" rows="2" value=${form.description}
        onInput=${(e) => setForm({ ...form, description: e.target.value })}></textarea><//>
      <div class="form-actions"><button type="submit" class="btn btn-primary">Save</button></div>
    </form>
    <div class="danger-zone">
      <h3>Delete this server</h3>
      <p class="muted">It is killed if running, and removed for good.</p>
      <${ActionButton} kind="danger" confirm=${`Delete ${server.name}? This cannot be undone.`} onError=${setError}
        action=${async () => {
          await del(`/api/servers/${server.id}`);
          navigate('/servers');
        }}>Delete server<//>
    </div>
  </div>`;
}

const tabs = [
  { id: 'console', label: 'Console' },
  { id: 'resources', label: 'Resources' },
  { id: 'settings', label: 'Settings' },
];

export function ServerDetail({ id, tab = 'console' }) {
  const { data, error, setData } = useResource(`/api/servers/${encodeURIComponent(id)}`);
  const plugins = usePlugins();
  const [actionError, setActionError] = useState(null);
  const [samples, setSamples] = useState([]);

  useEffect(() => {
    const offStatus = liveEvents.on('server.status', ({ server }) => {
      if (server.id === id) setData((d) => (d ? { ...d, server, usage: server.status === 'running' ? d.usage : null } : d));
    });
    const offUsage = liveEvents.on('server.usage', ({ serverId, usage }) => {
      if (serverId !== id) return;
      setData((d) => (d ? { ...d, usage } : d));
      setSamples((s) => [...s.slice(-(kSamples - 1)), usage]);
    });
    const offLog = liveEvents.on('server.log', ({ serverId, line }) => {
      if (serverId === id) setData((d) => (d ? { ...d, log: [...d.log.slice(-199), line] } : d));
    });
    return () => {
      offStatus();
      offUsage();
      offLog();
    };
  }, [id]);
  // The strip is there once the server is; plugins' tabs may come later.
  const strip = useCurrentTabInView(`${tab} ${Boolean(data)} ${plugins.loaded ? pluginServerTabs().length : 0}`);

  if (error && !data) {
    return html`<div class="page"><${PageHeader} title="Server" /><${ErrorBox} error=${error} /><p><${Link} href="/servers">Back to your servers<//></p></div>`;
  }
  if (!data) return html`<div class="page"><${Loading} /></div>`;
  const { server, usage, log } = data;
  const withPercent = samples.map((u) => ({ ...u, cpuPercentOfLimit: (u.cpu / server.limits.cpu) * 100 }));
  // Plugins' tabs come after the panel's own, as "<plugin>.<tab>".
  const extra = pluginServerTabs().map((t) => ({ id: `${t.plugin.id}.${t.id}`, tabId: t.id, label: String(t.label || t.title || t.id), plugin: t.plugin }));
  const allTabs = [...tabs, ...extra];
  const pluginTab = extra.find((t) => t.id === tab);

  return html`<div class="page" data-page="server">
    <${PageHeader} title=${server.name} subtitle=${server.description || `${server.node_name} · created ${formatTime(server.created_at)}`}>
      <${StatusBadge} status=${server.status} />
    <//>
    <${ErrorBox} error=${actionError} />
    <${Card}>
      <div class="server-summary">
        <dl class="facts">
          <div><dt>Node</dt><dd>${server.node_name || '–'}</dd></div>
          <div><dt>Memory</dt><dd>${formatMiB(server.limits.memory)}</dd></div>
          <div><dt>Disk</dt><dd>${formatMiB(server.limits.disk)}</dd></div>
          <div><dt>CPU</dt><dd>${server.limits.cpu}%</dd></div>
        </dl>
        <${PowerButtons} server=${server} onError=${setActionError} />
      </div>
    <//>
    <nav class="tabs" aria-label="Server sections" data-slot="server-tabs" ref=${strip}>
      ${allTabs.map((t) => html`<${Link} key=${t.id} href=${`/servers/${id}/${t.id}`} class=${tab === t.id ? 'tab current' : 'tab'}
        aria-current=${tab === t.id ? 'page' : undefined} data-tab-id=${t.id}>${t.label}<//>`)}
    </nav>
    <${Card}>
      ${tab === 'console' && html`<${Console} lines=${log} />`}
      ${tab === 'resources' && html`<${Resources} server=${server} usage=${usage} samples=${withPercent} />`}
      ${tab === 'settings' && html`<${Settings} server=${server} onSaved=${(s) => setData((d) => ({ ...d, server: s }))} />`}
      ${pluginTab && html`<${PluginFrame} key=${pluginTab.id} plugin=${pluginTab.plugin} title=${pluginTab.label}
        surface=${{ kind: 'serverTab', id: pluginTab.tabId, serverId: id }} />`}
      ${!allTabs.some((t) => t.id === tab) && html`<p class="muted">${plugins.loaded ? 'No such tab.' : 'Loading…'}</p>`}
    <//>
  </div>`;
}
