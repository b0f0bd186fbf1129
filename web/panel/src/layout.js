// The frame around every signed-in page: the sidebar (items with stable
// ids, after the sidebar:items hook), the top bar, the live-connection state.
import { html } from './html.js';
import { useEffect, useState } from 'preact/hooks';
import { liveEvents } from './events.js';
import { Link } from './router.js';
import { useSession } from './session.js';
import { Icon } from './icons.js';
import { usePlugins } from './plugins/store.js';
import { badgeText, placeSidebarItems } from './plugins/sidebar.js';

function isCurrent(item, path) {
  const p = path.split('?')[0];
  if (item.path === '/') return p === '/' || p === '/dashboard';
  if (item.path === '/admin') return p === '/admin';
  return p === item.path || p.startsWith(item.path + '/');
}

export function Layout({ path, children }) {
  const { user, navigation, signOut } = useSession();
  const [menuOpen, setMenuOpen] = useState(false);
  const [live, setLive] = useState(liveEvents.connected);
  useEffect(() => liveEvents.onStatus(setLive), []);
  useEffect(() => setMenuOpen(false), [path]);
  // Escape closes the menu on narrow screens.
  useEffect(() => {
    if (!menuOpen) return undefined;
    const onKey = (e) => e.key === 'Escape' && setMenuOpen(false);
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, [menuOpen]);

  const plugins = usePlugins();
  const items = navigation ? navigation.sidebar : [];
  const placed = placeSidebarItems(items.filter((i) => i.section !== 'admin'), plugins.plugins, plugins.declared);
  const main = placed.items;
  const admin = items.filter((i) => i.section === 'admin');
  useEffect(() => {
    if (user.isAdmin) placed.problems.forEach((p) => console.warn(`[plugins] ${p}`));
  }, [placed.problems.join('\n')]);
  const link = (item) => {
    const badge = item.badgeKey ? badgeText(plugins.badges[item.badgeKey]) : null;
    return html`<li key=${item.id}>
      <${Link} href=${item.path} class=${isCurrent(item, path) ? 'nav-link current' : 'nav-link'} data-nav-id=${item.id}
        aria-current=${isCurrent(item, path) ? 'page' : undefined}>
        <${Icon} name=${item.icon} /><span>${item.label}</span>
        ${badge && html`<span class="nav-badge" data-badge=${item.id} aria-label=${`${badge} new`}>${badge}</span>`}
      <//>
    </li>`;
  };

  return html`<div class=${menuOpen ? 'shell menu-open' : 'shell'}>
    <a class="skip" href="#main">Skip to content</a>
    <header class="topbar">
      <button type="button" class="menu-button" aria-label="Menu" aria-expanded=${menuOpen} aria-controls="sidebar"
        onClick=${() => setMenuOpen(!menuOpen)}><${Icon} name="menu" /></button>
      <${Link} href="/" class="brand"><span class="brand-mark" aria-hidden="true"></span>patchbay<//>
      <div class="topbar-right">
        <span class=${live ? 'live on' : 'live off'} title=${live ? 'Live updates connected' : 'Live updates reconnecting…'}>
          <span class="dot" aria-hidden="true"></span><span class="live-label">${live ? 'Live' : 'Reconnecting'}</span>
        </span>
        <span class="who" data-testid="who">${user.username}${user.isAdmin && html` <span class="tag">admin</span>`}</span>
        <button type="button" class="btn btn-ghost" onClick=${signOut}>Log out</button>
      </div>
    </header>
    <nav id="sidebar" class="sidebar" aria-label="Main">
      <ul>${main.map(link)}</ul>
      ${placed.grouped.length > 0 && html`<p class="nav-section">Plugins</p><ul>${placed.grouped.map(link)}</ul>`}
      ${admin.length > 0 && html`<p class="nav-section">Administration</p><ul>${admin.map(link)}</ul>`}
    </nav>
    <main id="main" class="content" tabindex="-1" onClick=${() => menuOpen && setMenuOpen(false)}>${children}</main>
  </div>`;
}
