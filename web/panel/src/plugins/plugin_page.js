// A plugin's page at its own path (/plugins/analytics in Sodium's style,
// /billing in seed 004's): its title, then the plugin's frame.
import { html } from '../html.js';
import { PageHeader } from '../ui.js';
import { PluginFrame } from './plugin_frame.js';

export function PluginPage({ page }) {
  const title = String(page.title || page.id || page.path);
  return html`<div class="page" data-page="plugin" data-plugin=${page.plugin.id}>
    <${PageHeader} title=${title} subtitle=${`From the plugin ${page.plugin.name}`} />
    <${PluginFrame} key=${`${page.plugin.id}:${page.path}`} plugin=${page.plugin} title=${title}
      surface=${{ kind: 'page', id: page.style === 'sodium' ? page.id : page.path, path: page.path }} minHeight=${120} />
  </div>`;
}
