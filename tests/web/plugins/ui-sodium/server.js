// Declares its surfaces as Sodium's plugins do; its client renders them.
export default function (sodium) {
  sodium.ui.addPage({ id: 'analytics', path: '/plugins/ui-sodium', title: 'Sodium page', icon: 'list' });
  sodium.ui.addPage({ id: 'billing', path: '/billing', title: 'Taken', sidebar: false });
  sodium.ui.addDashboardWidget({ id: 'stats', title: 'Sodium widget', size: 'small' });
  sodium.ui.addServerTab({ id: 'notes', label: 'Notes' });
  sodium.ui.addAdminPage({ id: 'overview', title: 'Sodium admin' });
  sodium.http.registerRoutes((router) => {
    router.get('/hello', (req, res) => res.json({ message: 'hello from the server', user: req.user ? req.user.username : null }));
    router.post('/echo', (req, res) => res.json({ got: req.body }));
  });
}
