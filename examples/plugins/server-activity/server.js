// Server Activity, in the Sodium panel's style: the surfaces are declared
// here and rendered by client.js's onRender* functions.
/** @param {import('@patchbay/sdk').Sodium} sodium (types: sdk/) */
export default function (sodium) {
  sodium.db.registerCollections(['events']);

  /**
   * @param {string} type
   * @param {{server?: {id: string, name: string, user_id?: string}, user?: {id: string | number, username?: string}, action?: string}} ctx
   */
  function track(type, ctx) {
    sodium.db.insert('events', {
      type,
      server_id: ctx.server ? ctx.server.id : null,
      server_name: ctx.server ? ctx.server.name : '',
      owner_id: ctx.server && ctx.server.user_id ? String(ctx.server.user_id) : null,
      user: ctx.user ? ctx.user.username || String(ctx.user.id) : 'the panel',
      action: ctx.action || null,
      at: Date.now(),
    });
  }

  sodium.hooks.on('server:onCreate', async (ctx) => track('created', ctx));
  sodium.hooks.on('server:onDelete', async (ctx) => track('deleted', ctx));
  sodium.hooks.on('server:onStatusChange', async (ctx) => track('power', ctx));

  sodium.cron.register('cleanup', '0 3 * * *', async () => {
    const days = Number(sodium.config.get('retentionDays')) || 30;
    const old = sodium.db.find('events', { at: { $lt: Date.now() - days * 86400000 } });
    for (const e of old) sodium.db.delete('events', e.id);
    sodium.logger.info(`cleanup: ${old.length} events older than ${days} days removed`);
  });

  sodium.ui.addPage({ id: 'activity', path: '/plugins/server-activity', title: 'Server activity', icon: 'activity' });
  sodium.ui.addSidebarItem({ label: 'Activity', icon: 'activity', path: '/plugins/server-activity' });
  sodium.ui.addDashboardWidget({ id: 'recent', title: 'Recent activity', size: 'medium' });
  sodium.ui.addServerTab({ id: 'activity', label: 'Activity' });
  sodium.ui.addAdminPage({ id: 'all-activity', title: 'Server activity' });

  /** The caller of a route behind sodium.auth.requireUser. @param {import('@patchbay/sdk').Request} req */
  const caller = (req) => /** @type {import('@patchbay/sdk').RequestUser} */ (req.user);
  const newestFirst = (/** @type {any[]} */ events) => events.sort((a, b) => b.at - a.at);

  sodium.http.registerRoutes((router) => {
    // The caller's own servers' events (an administrator's: every server's),
    // newest first; ?server=<id> for one server, ?limit=<n> for the latest.
    router.get('/events', sodium.auth.requireUser, (req, res) => {
      const limit = Math.min(Math.max(Number(req.query.limit) || 50, 1), 500);
      /** @type {{[field: string]: any}} */
      const query = {};
      if (!caller(req).isAdmin) query.owner_id = String(caller(req).id);
      if (typeof req.query.server === 'string') query.server_id = req.query.server;
      res.json(newestFirst(sodium.db.find('events', query)).slice(0, limit));
    });
    router.get('/summary', sodium.auth.requireAdmin, () => {
      const events = sodium.db.find('events');
      /** @type {{[type: string]: number}} */
      const byType = {};
      for (const e of events) byType[e.type] = (byType[e.type] || 0) + 1;
      return { total: events.length, byType, retentionDays: Number(sodium.config.get('retentionDays')) || 30 };
    });
  });
}
