// One visible plugin surface (page, widget, server tab, admin page or tab)
// in its own sandboxed frame: the plugin's code runs in an opaque origin,
// away from the panel's page, cookies and storage. The frame sizes itself
// to its content; a module that fails, never answers or spins gets an
// error card with "Reload" in its place, and nothing else is touched.
import { html } from '../html.js';
import { useEffect, useRef, useState } from 'preact/hooks';
import { connect } from './bridge.js';
import { broadcast, frameUrl, joinEvents, quarantine, usePlugins } from './store.js';

const RENDER_DEADLINE_MS = 5000;
const MAX_HEIGHT = 20000;

const renderedEvents = { page: 'page.rendered', serverTab: 'serverTab.rendered', adminPage: 'adminPage.rendered', adminTab: 'adminPage.rendered' };

export function PluginFrame({ plugin, surface, title, minHeight = 48 }) {
  const holder = useRef(null);
  const [state, setState] = useState({ status: 'loading', height: minHeight, message: '' });
  const [attempt, setAttempt] = useState(0);
  const missedDeadline = useRef(-1); // the attempt that did: not tried again until "Reload"
  const { frameEpoch, revisions } = usePlugins();
  const revision = revisions[plugin.id] || 0; // the plugin changed on the server: made again
  const key = JSON.stringify(surface);

  useEffect(() => {
    if (missedDeadline.current === attempt) return undefined;
    setState({ status: 'loading', height: minHeight, message: '' });
    const iframe = document.createElement('iframe');
    iframe.setAttribute('sandbox', 'allow-scripts allow-forms');
    iframe.title = title || `${plugin.name}`;
    iframe.className = 'plugin-frame';
    iframe.style.height = `${minHeight}px`;
    iframe.src = frameUrl(plugin);
    let leave = () => {};
    let finished = false;
    const failed = (message) => {
      if (finished) return;
      finished = true;
      clearTimeout(deadline);
      iframe.remove(); // a spinning frame goes with its document
      setState({ status: 'failed', height: minHeight, message });
    };
    const deadline = setTimeout(() => {
      missedDeadline.current = attempt;
      failed(`${plugin.name} did not show this within ${RENDER_DEADLINE_MS / 1000} s.`);
      quarantine(plugin.id);
    }, RENDER_DEADLINE_MS);
    iframe.addEventListener('load', () => {
      const channel = new MessageChannel();
      const bridge = connect(channel.port1, plugin, {
        size: (m) => {
          const height = Math.max(minHeight, Math.min(MAX_HEIGHT, Number(m.height) || 0));
          iframe.style.height = `${height}px`;
        },
        rendered: () => {
          if (finished) return;
          finished = true;
          clearTimeout(deadline);
          setState((s) => ({ ...s, status: 'ready' }));
          const event = renderedEvents[surface.kind];
          if (event) broadcast(null, event, { pluginId: plugin.id, pageId: surface.id, tabId: surface.id, serverId: surface.serverId });
        },
        failed: (m) => failed(String(m.message || 'The plugin failed.')),
        emit: (event, data) => broadcast(plugin.id, event, data),
      });
      leave = joinEvents(plugin.id, bridge);
      iframe.contentWindow.postMessage({ type: 'pb:init', plugin: { id: plugin.id, name: plugin.name, version: plugin.version, clientHash: plugin.clientHash }, surface }, '*', [channel.port2]);
    }, { once: true });
    holder.current.appendChild(iframe);
    return () => {
      finished = true;
      clearTimeout(deadline);
      leave();
      iframe.remove();
    };
  }, [plugin.id, plugin.version, plugin.clientHash, key, attempt, frameEpoch, revision]);

  return html`<div class=${`plugin-surface plugin-${state.status}`} data-plugin=${plugin.id} data-surface=${surface.kind}>
    ${plugin.problem && html`<p class="plugin-problem" role="alert" data-testid="plugin-problem"><strong>${plugin.name}:</strong> ${plugin.problem}</p>`}
    <div ref=${holder} class="plugin-frame-holder" hidden=${state.status === 'failed'}></div>
    ${state.status === 'failed' && html`<div class="plugin-error-card" role="alert">
      <p><strong>${plugin.name}</strong> could not show this. ${state.message}</p>
      <button type="button" class="btn btn-small" onClick=${() => setAttempt((n) => n + 1)}>Reload</button>
    </div>`}
  </div>`;
}
