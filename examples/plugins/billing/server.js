// Billing & Payments (seed 004, type "feature"): plans, invoices, payments,
// each server's usage and cost, and a balance check that stops server
// creation while a user owes money. Its pages, widget, server tab, admin
// tab and sidebar badge are in client.js.
/** @param {import('@patchbay/sdk').Sodium} sodium (types: sdk/) */
export default function (sodium) {
  sodium.db.registerCollections(['invoices', 'plans', 'transactions', 'usage']);

  /** @param {{user?: {id: string} | null}} req */
  const userOf = (req) => (req.user ? req.user.id : null);
  /** The caller of a route behind sodium.auth.requireUser. @param {import('@patchbay/sdk').Request} req */
  const caller = (req) => /** @type {import('@patchbay/sdk').RequestUser} */ (req.user);
  const currency = () => sodium.config.get('currency') || 'USD';
  const cents = (/** @type {number} */ amount) => Math.round(amount * 100) / 100;
  const newestFirst = (/** @type {any} */ a, /** @type {any} */ b) => String(b.created_at).localeCompare(String(a.created_at));

  /** @param {string | null} userId */
  function balanceOf(userId) {
    const txs = sodium.db.find('transactions', { user_id: userId });
    return cents(txs.reduce((sum, t) => sum + t.amount, 0));
  }

  /** @param {string | null} userId */
  const unpaidOf = (userId) => sodium.db.find('invoices', { user_id: userId, status: 'unpaid' });

  // A server's running hours this cycle, from the panel's usage reports
  // (server:resourceUsage, every few seconds while it runs), priced by the
  // gigabyte of memory it is given.
  /** @param {{id: string, limits?: {memory?: number}}} server */
  function costOf(server) {
    const usage = sodium.db.findOne('usage', { server_id: server.id });
    const hours = usage ? usage.hours : 0;
    const gigabytes = ((server.limits && server.limits.memory) || 0) / 1024;
    const rate = Number(sodium.config.get('price_per_gb_hour') ?? 0.01);
    return { hours, gigabytes, rate, cost: cents(hours * gigabytes * rate), currency: currency(), last: usage ? usage.last : null };
  }

  sodium.http.registerRoutes((router) => {
    router.get('/plans', () => sodium.db.find('plans'));
    router.post('/plans', sodium.auth.requireAdmin, (req, res) => {
      const { name, price, description } = req.body || {};
      if (typeof name !== 'string' || !name.trim() || typeof price !== 'number' || !(price >= 0)) {
        return res.status(400).json({ error: 'name (a non-empty string) and price (a number, 0 or more) are required' });
      }
      const plan = { name: name.trim(), price: cents(price), currency: currency(), description: typeof description === 'string' ? description : '' };
      res.status(201).json(sodium.db.insert('plans', plan));
    });
    router.delete('/plans/:id', sodium.auth.requireAdmin, (req, res) => {
      if (!sodium.db.delete('plans', req.params.id)) return res.status(404).json({ error: 'no such plan' });
      res.sendStatus(204);
    });

    router.get('/invoices', (req) => sodium.db.find('invoices', { user_id: userOf(req) }).sort(newestFirst));
    router.get('/invoices/unpaid', (req) => ({ count: unpaidOf(userOf(req)).length }));
    router.get('/balance', (req) => ({ balance: balanceOf(userOf(req)), currency: currency() }));

    router.post('/checkout', sodium.auth.requireUser, (req, res) => {
      const plan = sodium.db.findOne('plans', { id: req.body && req.body.plan_id });
      if (!plan) return res.status(404).json({ error: 'no such plan' });
      const invoice = sodium.db.insert('invoices', {
        user_id: caller(req).id, plan_id: plan.id, plan_name: plan.name, amount: plan.price, currency: plan.currency, status: 'unpaid', created_at: new Date().toISOString(),
      });
      sodium.db.insert('transactions', { user_id: caller(req).id, amount: -plan.price, invoice_id: invoice.id, kind: 'charge', created_at: invoice.created_at });
      sodium.events.emit('billing:invoices', { userId: caller(req).id });
      res.status(201).json(invoice);
    });

    // Without a payment processor configured (stripe_key), payments are
    // recorded as test payments: the flow is the same.
    router.post('/invoices/:id/pay', sodium.auth.requireUser, (req, res) => {
      const invoice = sodium.db.findOne('invoices', { id: req.params.id, user_id: caller(req).id });
      if (!invoice) return res.status(404).json({ error: 'no such invoice' });
      if (invoice.status !== 'unpaid') return res.status(409).json({ error: `the invoice is already ${invoice.status}` });
      const paidAt = new Date().toISOString();
      sodium.db.insert('transactions', {
        user_id: caller(req).id, amount: invoice.amount, invoice_id: invoice.id, kind: sodium.config.get('stripe_key') ? 'payment' : 'test payment', created_at: paidAt,
      });
      res.json(sodium.db.update('invoices', invoice.id, { status: 'paid', paid_at: paidAt }));
    });

    router.get('/servers/:id/usage', sodium.auth.requireUser, (req, res) => {
      const server = sodium.data.findServer(req.params.id);
      if (!server || (server.user_id !== caller(req).id && !caller(req).isAdmin)) return res.status(404).json({ error: 'no such server' });
      res.json({ server: { id: server.id, name: server.name, memory: server.limits.memory }, ...costOf(server) });
    });

    router.get('/admin/summary', sodium.auth.requireAdmin, () => {
      const txs = sodium.db.find('transactions');
      const unpaid = sodium.db.find('invoices', { status: 'unpaid' });
      return {
        currency: currency(),
        revenue: cents(txs.filter((t) => t.amount > 0).reduce((sum, t) => sum + t.amount, 0)),
        outstanding: cents(unpaid.reduce((sum, i) => sum + i.amount, 0)),
        unpaidInvoices: unpaid.length,
        invoices: sodium.db.count('invoices'),
        transactions: txs.sort(newestFirst).slice(0, 50),
      };
    });
  });

  sodium.hooks.on('server:beforeCreate', async (ctx) => {
    if (balanceOf(ctx.user.id) < 0) ctx.deny('Insufficient balance.');
  });

  // Usage reports come every few seconds for each running server; a gap
  // (the server was stopped, the panel restarted) counts at most a minute.
  sodium.hooks.on('server:resourceUsage', async (ctx) => {
    const now = Date.now();
    const record = sodium.db.findOne('usage', { server_id: ctx.server.id });
    if (!record) {
      sodium.db.insert('usage', { server_id: ctx.server.id, hours: 0, at: now, last: ctx.usage });
      return;
    }
    const elapsed = Math.min(Math.max(now - record.at, 0), 60000) / 3600000;
    sodium.db.update('usage', record.id, { hours: record.hours + elapsed, at: now, last: ctx.usage });
  });

  sodium.hooks.on('server:onDelete', async (ctx) => {
    const usage = sodium.db.findOne('usage', { server_id: ctx.server.id });
    if (usage) sodium.db.delete('usage', usage.id);
    sodium.logger.info(`Server ${ctx.server.id} deleted; its subscription ends`);
  });

  sodium.cron.register('billing:cycle', '0 0 1 * *', async () => {
    for (const plan of sodium.db.find('plans')) sodium.logger.info(`billing cycle for plan ${plan.name}`);
  });

  return {
    balanceOf,
  };
}
