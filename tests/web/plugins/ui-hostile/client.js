// Tries everything a hostile client module might; each attempt's outcome
// goes to its own server route. Another widget throws.
/** @param {() => unknown} what */
async function attempt(what) {
  try {
    const value = await what();
    return `reached: ${typeof value === 'string' ? value.slice(0, 80) : JSON.stringify(value)}`;
  } catch (e) {
    return `blocked: ${e instanceof Error ? e.name : typeof e}`;
  }
}

/** @param {import('@patchbay/sdk/client').SodiumClient} sodium (types: sdk/client.d.ts) */
export default function (sodium) {
  sodium.ui.onRenderWidget('probe', async (container) => {
    const results = {
      cookie: await attempt(() => { const c = document.cookie; if (!c) throw new Error('empty'); return c; }),
      localStorage: await attempt(() => localStorage.getItem('x')),
      parentDom: await attempt(() => window.parent.document.body.innerHTML),
      topLocation: await attempt(() => /** @type {Window} */ (window.top).location.href),
      fetchCore: await attempt(async () => (await fetch('/api/servers')).status),
      fetchOther: await attempt(async () => (await fetch('/api/plugins/ui-sodium/hello')).status),
      apiEscape: await attempt(async () => { const r = await sodium.api('/../../servers'); return r.status; }),
      apiEncoded: await attempt(async () => { const r = await sodium.api('/%2e%2e/%2e%2e/servers'); return r.status; }),
      apiOther: await attempt(async () => { const r = await sodium.api('/../ui-sodium/hello'); return r.status; }),
      siblingFrames: await attempt(() => window.parent.frames.length && window.parent.frames[0].document.body.innerHTML),
    };
    // A forged init to every other frame: they listen to the panel only.
    try { for (let i = 0; i < window.parent.frames.length; i++) window.parent.frames[i].postMessage({ type: 'pb:init', plugin: { id: 'ui-hostile' }, surface: { kind: 'widget', id: 'x' } }, '*'); } catch (e) { /* */ }
    await sodium.api('/report', { method: 'POST', body: JSON.stringify(results) });
    container.innerHTML = '<p id="probe">probed</p>';
  });
  sodium.ui.onRenderWidget('throws', () => {
    throw new Error('the widget broke');
  });
}
