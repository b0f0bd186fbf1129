// Billing & Payments (seed 004, type "feature"): plans, invoices and a
// balance check that stops server creation when a user owes money.
/** @param {import('@patchbay/sdk').Sodium} sodium (types: sdk/) */
export default function (sodium) {
  sodium.db.registerCollections(['invoices', 'plans', 'transactions']);

  /** @param {string | null} userId */
  function balanceOf(userId) {
    const txs = sodium.db.find('transactions', { user_id: userId });
    return txs.reduce((sum, t) => sum + t.amount, 0);
  }

  sodium.http.registerRoutes((router) => {
    router.get('/plans', () => sodium.db.find('plans'));
    router.post('/plans', (req, res) => {
      const { name, price } = req.body || {};
      if (typeof name !== 'string' || typeof price !== 'number') {
        return res.status(400).json({ error: 'name (string) and price (number) are required' });
      }
      res.status(201).json(sodium.db.insert('plans', { name, price, currency: sodium.config.get('currency') }));
    });
    router.get('/invoices', (req) => sodium.db.find('invoices', { user_id: req.user ? req.user.id : null }));
    router.get('/balance', (req) => ({ balance: balanceOf(req.user ? req.user.id : null) }));
    router.post('/checkout', sodium.auth.requireUser, (req, res) => {
      if (!req.user) return res.status(401).json({ error: 'No token provided' });
      const plan = sodium.db.findOne('plans', { id: req.body && req.body.plan_id });
      if (!plan) return res.status(404).json({ error: 'no such plan' });
      const invoice = sodium.db.insert('invoices', { user_id: req.user.id, plan_id: plan.id, amount: plan.price, status: 'unpaid' });
      sodium.db.insert('transactions', { user_id: req.user.id, amount: -plan.price, invoice_id: invoice.id });
      res.status(201).json(invoice);
    });
  });

  sodium.hooks.on('server:beforeCreate', async (ctx) => {
    if (balanceOf(ctx.user.id) < 0) ctx.deny('Insufficient balance.');
  });

  sodium.hooks.on('server:onDelete', async (ctx) => {
    sodium.logger.info(`Server ${ctx.server.id} deleted; its subscription ends`);
  });

  sodium.cron.register('billing:cycle', '0 0 1 * *', async () => {
    for (const plan of sodium.db.find('plans')) sodium.logger.info(`billing cycle for plan ${plan.name}`);
  });

  return {
    balanceOf,
  };
}
