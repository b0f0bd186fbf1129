// bench/runtime's plugin: GET /items (db.find over 100 records) and GET /const.
export default function (sodium) {
  sodium.db.registerCollections(['items']);
  if (sodium.db.count('items') === 0) {
    for (let i = 0; i < 100; i++) sodium.db.insert('items', { id: String(i), name: `item ${i}`, price: i * 3 });
  }
  sodium.http.registerRoutes((router) => {
    router.get('/items', () => sodium.db.find('items'));
    router.get('/const', () => ({ ok: true }));
  });
}
