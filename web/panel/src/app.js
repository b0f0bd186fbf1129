// The panel's single page: signs in, then shows the page the path names
// inside the layout (sidebar, top bar). Live events start once signed in.
import './style.css';
import { render } from 'preact';
import { useCallback, useEffect, useState } from 'preact/hooks';
import { html } from './html.js';
import { get, onSessionExpired, post } from './api.js';
import { liveEvents } from './events.js';
import { currentPath, match, navigate, usePath } from './router.js';
import { SessionContext } from './session.js';
import { Layout } from './layout.js';
import { AuthPage } from './pages/auth.js';
import { Dashboard } from './pages/dashboard.js';
import { ServerList } from './pages/servers.js';
import { NewServer } from './pages/server_new.js';
import { ServerDetail } from './pages/server_detail.js';
import { Profile } from './pages/profile.js';
import { Admin } from './pages/admin.js';
import { Loading } from './ui.js';
import { PluginPage } from './plugins/plugin_page.js';
import { formerPluginPage, loadPlugins, pluginChanged, pluginPages, unloadPlugins, usePlugins } from './plugins/store.js';

const routes = [
  ['/', Dashboard],
  ['/dashboard', Dashboard],
  ['/servers', ServerList],
  ['/servers/new', NewServer],
  ['/servers/:id', ServerDetail],
  ['/servers/:id/:tab', ServerDetail],
  ['/profile', Profile],
  ['/admin', Admin],
  ['/admin/:section', Admin],
  ['/admin/:section/:id', Admin],
];

function NotFound() {
  return html`<div class="page"><h1>Not found</h1><p>There is no page at ${currentPath()}.</p></div>`;
}

function App() {
  const path = usePath();
  const [user, setUser] = useState(undefined); // undefined: not known yet
  const [navigation, setNavigation] = useState(null);
  const plugins = usePlugins();

  const loadNavigation = useCallback(async () => {
    try {
      setNavigation(await get('/api/panel/navigation'));
    } catch {
      setNavigation(null);
    }
  }, []);

  useEffect(() => {
    get('/api/auth/me').then((r) => setUser(r.user), () => setUser(null));
    return onSessionExpired(() => setUser(null));
  }, []);

  useEffect(() => {
    if (!user) {
      liveEvents.stop();
      if (user === null) unloadPlugins(); // signed out (undefined: not known yet)
      return;
    }
    liveEvents.start();
    loadNavigation();
    loadPlugins();
    const offEnded = liveEvents.on('session.ended', () => setUser(null));
    const offPlugins = liveEvents.on('plugins.changed', (message) => {
      // Frames of a plugin that was reconfigured, upgraded or reloaded are made again.
      if (message && typeof message.plugin === 'string' && ['settings', 'grants', 'limits', 'upgraded', 'reloaded'].includes(message.change)) pluginChanged(message.plugin);
      loadNavigation();
      loadPlugins();
    });
    return () => {
      offEnded();
      offPlugins();
    };
  }, [user]);

  useEffect(() => {
    if (user) liveEvents.watch(path.split('?')[0]);
  }, [user, path]);

  // Signed out (or the session expired): to log-in, and back here after it.
  useEffect(() => {
    const onAuthPage = path.startsWith('/login') || path.startsWith('/register');
    if (user === null && !onAuthPage) navigate(`/login?next=${encodeURIComponent(currentPath())}`, { replace: true });
    if (user && onAuthPage) {
      const next = new URLSearchParams(location.search).get('next');
      navigate(next && next.startsWith('/') && !next.startsWith('//') ? next : '/', { replace: true });
    }
  }, [user, path]);

  const signOut = async () => {
    try {
      await post('/api/auth/logout');
    } finally {
      setUser(null);
      setNavigation(null);
    }
  };

  if (user === undefined) return html`<div class="boot"><${Loading} /></div>`;
  const session = { user, navigation, setUser, signOut, reloadNavigation: loadNavigation };
  if (!user) {
    return html`<${SessionContext.Provider} value=${session}><${AuthPage} mode=${path.startsWith('/register') ? 'register' : 'login'} /><//>`;
  }
  let page = null;
  for (const [pattern, Page] of routes) {
    const params = match(pattern, path);
    if (params) {
      page = html`<${Page} ...${params} path=${path} />`;
      break;
    }
  }
  if (!page) {
    // A plugin's page lives at the path it registered.
    const bare = path.split('?')[0].replace(/\/+$/, '') || '/';
    const pluginPage = pluginPages().find((p) => p.path === bare);
    const gone = formerPluginPage(bare);
    page = pluginPage ? html`<${PluginPage} page=${pluginPage} />`
      : gone && plugins.loaded ? html`<div class="page" data-page="plugin-gone"><h1>Page no longer available</h1><p>This page came from the plugin ${gone}, which is not active any more.</p></div>`
      : plugins.loaded ? html`<${NotFound} />` : html`<${Loading} />`;
  }
  return html`<${SessionContext.Provider} value=${session}><${Layout} path=${path}>${page}<//><//>`;
}

render(html`<${App} />`, document.getElementById('app'));
