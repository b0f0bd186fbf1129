// Server Activity in the browser, in the Sodium panel's style: server.js
// declared the page, widget, server tab and admin page; these fill them.
/** @param {import('@patchbay/sdk/client').SodiumClient} sodium (types: sdk/client.d.ts) */
export default function (sodium) {
  const esc = sodium.escapeHtml;

  /** @typedef {{type: string, server_id: string | null, server_name: string, user: string, action: string | null, at: number}} ActivityEvent */

  /** @param {string} query @returns {Promise<ActivityEvent[]>} */
  async function events(query) {
    const res = await sodium.api(`/events${query}`);
    if (!res.ok) throw new Error(`${res.status} ${res.statusText}`);
    return res.json();
  }

  /** @param {ActivityEvent} e */
  function describe(e) {
    if (e.type === 'power') return `${esc(e.user)} ran <strong>${esc(e.action || '?')}</strong> on ${esc(e.server_name)}`;
    return `${esc(e.user)} ${e.type === 'created' ? 'created' : 'deleted'} ${esc(e.server_name)}`;
  }

  /** @param {number} at */
  function ago(at) {
    const s = Math.max(0, Math.round((Date.now() - at) / 1000));
    if (s < 60) return `${s} s ago`;
    if (s < 3600) return `${Math.round(s / 60)} min ago`;
    if (s < 86400) return `${Math.round(s / 3600)} h ago`;
    return new Date(at).toLocaleDateString();
  }

  /** @param {ActivityEvent[]} list @param {string} empty */
  function table(list, empty) {
    if (!list.length) return `<p class="empty" data-activity-empty>${esc(empty)}</p>`;
    return `<div class="table-scroll"><table class="table" data-activity><thead><tr><th>What</th><th>When</th></tr></thead><tbody>${list
      .map((e) => `<tr data-type="${esc(e.type)}"><td>${describe(e)}</td><td class="muted">${esc(ago(e.at))}</td></tr>`)
      .join('')}</tbody></table></div>`;
  }

  sodium.ui.onRenderPage('activity', async (container) => {
    container.innerHTML = `<section class="card stack"><p class="muted">What happened to your servers, newest first.</p>${table(await events('?limit=200'), 'Nothing yet: create or start a server.')}</section>`;
  });

  sodium.ui.onRenderWidget('recent', async (container) => {
    const list = await events('?limit=5');
    container.innerHTML = list.length
      ? `<ul class="stack" data-activity style="list-style:none;margin:0;padding:0">${list.map((e) => `<li>${describe(e)} <span class="muted small">${esc(ago(e.at))}</span></li>`).join('')}</ul>`
      : '<p class="empty" data-activity-empty>No server activity yet.</p>';
  });

  sodium.ui.onRenderServerTab('activity', async (container, serverId) => {
    container.innerHTML = table(await events(`?server=${encodeURIComponent(serverId)}&limit=100`), 'Nothing has happened to this server yet.');
  });

  sodium.ui.onRenderAdminPage('all-activity', async (container) => {
    const res = await sodium.api('/summary');
    const summary = await res.json();
    /** @type {{[type: string]: string}} */
    const labels = { created: 'Servers created', deleted: 'Servers deleted', power: 'Power actions' };
    const counts = Object.entries(summary.byType || {}).map(([type, n]) => `<div class="card stat"><span class="stat-label">${esc(labels[type] || type)}</span><span class="stat-value">${esc(String(n))}</span></div>`).join('');
    container.innerHTML = `<div class="stack"><div class="stats" data-summary>${counts || '<p class="empty">No events yet.</p>'}</div>
      <p class="muted">Events are kept for ${esc(String(summary.retentionDays))} days.</p>${table(await events('?limit=200'), 'No events yet.')}</div>`;
  });
}
