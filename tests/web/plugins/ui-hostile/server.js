// Keeps what its client found out (POST /report), for the test to read.
export default function (sodium) {
  let report = null;
  sodium.ui.addDashboardWidget({ id: 'probe', title: 'Probe', size: 'small' });
  sodium.ui.addDashboardWidget({ id: 'throws', title: 'Thrower', size: 'small' });
  sodium.http.registerRoutes((router) => {
    router.post('/report', (req, res) => { report = req.body; res.json({ ok: true }); });
    router.get('/report', (req, res) => res.json({ report }));
  });
}
