// Records every hook point the panel emits: the event and its context's
// top-level keys (GET /api/plugins/hook-recorder/seen).
export default function (sodium) {
  const seen = {};
  const events = ['server:beforeCreate', 'server:onCreate', 'server:onStatusChange', 'server:onDelete', 'server:resourceUsage',
    'auth:afterRegister', 'auth:afterLogin', 'route:register', 'ws:message', 'db:afterSave', 'sidebar:items', 'admin:tabs'];
  for (const event of events) {
    sodium.hooks.on(event, (ctx) => {
      seen[event] = Object.keys(ctx).filter((k) => !k.startsWith('_') && k !== 'deny').sort();
    });
  }
  // A plugin's sidebar item, placed after the panel's "servers" item.
  sodium.hooks.on('sidebar:items', (ctx) => {
    const at = ctx.items.findIndex((i) => i.id === 'servers');
    ctx.items.splice(at + 1, 0, { id: 'hook-recorder.seen', label: 'Hooks seen', path: '/plugins/hook-recorder', icon: 'list', plugin: 'hook-recorder' });
  });
  sodium.http.registerRoutes((router) => {
    router.get('/seen', (req, res) => res.json(seen));
  });
}
