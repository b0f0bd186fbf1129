export default function (sodium) {
  sodium.http.registerRoutes((router) => {
    router.get('/unpaid', (req, res) => res.json({ count: 120 }));
  });
}
