// Sodium's client API: onRender* fill the container they are given.
/** @param {import('@patchbay/sdk/client').SodiumClient} sodium (types: sdk/client.d.ts) */
export default function (sodium) {
  const { ui, api, escapeHtml } = sodium;
  ui.onRenderPage('analytics', async (container) => {
    const hello = await (await api('/hello')).json();
    const echo = await (await api('/echo', { method: 'POST', body: JSON.stringify({ n: 42 }) })).json();
    container.innerHTML = `<div class="card"><p id="message">${escapeHtml(hello.message)} to ${escapeHtml(hello.user)}</p>
      <p id="echo">${escapeHtml(JSON.stringify(echo.got))}</p><p id="plugin">${escapeHtml(sodium.plugin.id)} ${escapeHtml(sodium.plugin.version)}</p>
      <button class="btn" id="ask">Ask</button><p id="answer"></p><button class="btn" id="toast">Toast</button></div>`;
    /** @param {string} selector */
    const el = (selector) => /** @type {HTMLElement} */ (container.querySelector(selector));
    el('#ask').addEventListener('click', async () => {
      const yes = await sodium.modal.confirm({ title: 'Sure?', message: 'Answer me' });
      el('#answer').textContent = yes ? 'confirmed' : 'cancelled';
    });
    el('#toast').addEventListener('click', () => sodium.toast.success('Saved from a frame'));
  });
  ui.onRenderWidget('stats', (container) => {
    container.innerHTML = '<p id="widget">Sodium widget body</p>';
  });
  ui.onRenderServerTab('notes', (container, serverId) => {
    container.innerHTML = `<p id="notes">Notes for ${escapeHtml(serverId)}</p>`;
  });
  ui.onRenderAdminPage('overview', (container) => {
    container.innerHTML = '<p id="admin-page">Sodium admin page</p>';
  });
  sodium.events.on('page.rendered', (e) => {
    if (e && e.pluginId === 'ui-sodium') document.body.dataset.rendered = 'yes';
  });
}
