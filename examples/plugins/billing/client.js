// Billing & Payments in the browser (seed 004's frontend API): a billing
// page with the balance and what is owed, plans to subscribe to, invoices to
// pay, a balance widget, a "Usage & Cost" tab on every server, an admin tab
// (plans, revenue, transactions) and a sidebar item after "Servers" whose
// badge counts unpaid invoices. Styled with the panel's classes
// (docs/plugin-ui.md).
/** @param {import('@patchbay/sdk/client').SodiumClient} sodium (types: sdk/client.d.ts) */
export default function (sodium) {
  const esc = sodium.escapeHtml;

  /** @param {number} amount @param {string} currency */
  function money(amount, currency) {
    try {
      return new Intl.NumberFormat(undefined, { style: 'currency', currency }).format(amount);
    } catch {
      return `${amount.toFixed(2)} ${currency}`;
    }
  }

  /** @param {string} path @param {string} [method] @param {object} [body] */
  async function call(path, method = 'GET', body) {
    const res = await sodium.api(path, body === undefined ? { method } : { method, body: JSON.stringify(body), headers: { 'Content-Type': 'application/json' } });
    const text = await res.text();
    const data = text ? JSON.parse(text) : null;
    if (!res.ok) throw new Error((data && data.error) || `${res.status} ${res.statusText}`);
    return data;
  }

  /** Runs an action from a button; what fails is said in a toast. @param {() => Promise<void>} action */
  const attempt = (action) => action().catch((/** @type {Error} */ e) => sodium.toast.error(e.message));

  /** @param {HTMLElement} container @param {string} selector @param {(el: HTMLElement) => void} fn */
  const each = (container, selector, fn) => container.querySelectorAll(selector).forEach((el) => fn(/** @type {HTMLElement} */ (el)));

  /** @typedef {{id: string, plan_name?: string, amount: number, currency: string, status: string, created_at?: string, paid_at?: string}} Invoice */

  /** @param {Invoice[]} invoices */
  function invoiceRows(invoices) {
    if (!invoices.length) return '<p class="empty" data-invoices-empty>No invoices yet.</p>';
    return `<div class="table-scroll"><table class="table" data-invoices><thead><tr><th>Date</th><th>Plan</th><th>Amount</th><th>Status</th><th></th></tr></thead><tbody>${invoices
      .map((i) => `<tr data-invoice="${esc(i.id)}"><td>${esc((i.created_at || '').slice(0, 10))}</td><td>${esc(i.plan_name || '')}</td><td>${esc(money(i.amount, i.currency))}</td>
        <td><span class="tag ${i.status === 'unpaid' ? 'tag-warn' : 'tag-ok'}" data-status="${esc(i.status)}">${esc(i.status)}</span></td>
        <td>${i.status === 'unpaid' ? `<button type="button" class="btn btn-primary btn-small" data-pay="${esc(i.id)}">Pay</button>` : ''}</td></tr>`)
      .join('')}</tbody></table></div>`;
  }

  /** The Pay buttons in `container`; `after` shows the page again. @param {HTMLElement} container @param {() => void} after */
  function wirePayments(container, after) {
    each(container, '[data-pay]', (button) => {
      button.addEventListener('click', () => attempt(async () => {
        /** @type {HTMLButtonElement} */ (button).disabled = true;
        const paid = await call(`/invoices/${encodeURIComponent(button.dataset.pay || '')}/pay`, 'POST', {});
        sodium.toast.success(`Paid ${money(paid.amount, paid.currency)}.`);
        sodium.events.emit('billing:invoices', {});
        after();
      }));
    });
  }

  /** @param {HTMLElement} container */
  async function renderOverview(container) {
    const [{ balance, currency }, invoices] = await Promise.all([call('/balance'), call('/invoices')]);
    const unpaid = /** @type {Invoice[]} */ (invoices).filter((i) => i.status === 'unpaid');
    container.innerHTML = `<div class="stack">
      <div class="stats">
        <div class="card stat"><span class="stat-label">Balance</span><span class="stat-value" data-balance>${esc(money(balance, currency))}</span></div>
        <div class="card stat"><span class="stat-label">Unpaid invoices</span><span class="stat-value" data-unpaid>${unpaid.length}</span></div>
      </div>
      ${balance < 0 ? '<p class="alert alert-error">New servers cannot be created while you owe money. Pay your invoices below.</p>' : ''}
      <section class="card stack"><h2>To pay</h2>${unpaid.length ? invoiceRows(unpaid) : '<p class="empty">Nothing to pay.</p>'}</section>
      <p><button type="button" class="btn" data-go="/billing/plans">Choose a plan</button> <button type="button" class="btn btn-ghost" data-go="/billing/invoices">All invoices</button></p>
    </div>`;
    each(container, '[data-go]', (b) => b.addEventListener('click', () => sodium.navigate(b.dataset.go || '/billing')));
    wirePayments(container, () => renderOverview(container));
  }

  /** @param {HTMLElement} container */
  async function renderPlans(container) {
    /** @type {Array<{id: string, name: string, price: number, currency: string, description?: string}>} */
    const plans = await call('/plans');
    container.innerHTML = plans.length
      ? `<div class="stats">${plans
        .map((p) => `<article class="card stack" data-plan="${esc(p.id)}"><h2>${esc(p.name)}</h2><p class="stat-value">${esc(money(p.price, p.currency))}<span class="muted"> / month</span></p>
          ${p.description ? `<p class="muted">${esc(p.description)}</p>` : ''}
          <button type="button" class="btn btn-primary" data-subscribe="${esc(p.id)}">Subscribe</button></article>`)
        .join('')}</div>`
      : '<p class="empty">No plans yet: an administrator adds them under Administration → Billing.</p>';
    each(container, '[data-subscribe]', (button) => {
      button.addEventListener('click', () => attempt(async () => {
        const plan = plans.find((p) => p.id === button.dataset.subscribe);
        const yes = await sodium.modal.confirm({ title: `Subscribe to ${plan ? plan.name : 'this plan'}?`, message: `An invoice of ${plan ? money(plan.price, plan.currency) : ''} is made now.`, confirmText: 'Subscribe' });
        if (!yes) return;
        await call('/checkout', 'POST', { plan_id: button.dataset.subscribe });
        sodium.toast.success('Subscribed: your invoice is waiting.');
        sodium.events.emit('billing:invoices', {});
        sodium.navigate('/billing');
      }));
    });
  }

  /** @param {HTMLElement} container */
  async function renderInvoices(container) {
    const invoices = await call('/invoices');
    container.innerHTML = `<section class="card stack">${invoiceRows(invoices)}</section>`;
    wirePayments(container, () => renderInvoices(container));
  }

  /** @param {string} serverId */
  async function renderUsage(serverId) {
    const u = await call(`/servers/${encodeURIComponent(serverId)}/usage`);
    const last = u.last;
    return `<div class="stack" data-usage>
      <div class="stats">
        <div class="card stat"><span class="stat-label">Running this cycle</span><span class="stat-value" data-hours>${esc(u.hours.toFixed(2))} h</span></div>
        <div class="card stat"><span class="stat-label">Memory</span><span class="stat-value">${esc(u.gigabytes.toFixed(2))} GB</span></div>
        <div class="card stat"><span class="stat-label">Cost so far</span><span class="stat-value" data-cost>${esc(money(u.cost, u.currency))}</span></div>
      </div>
      <p class="muted">${esc(money(u.rate, u.currency))} per GB of memory per hour.${last ? ` Last report: CPU ${esc(Number(last.cpu).toFixed(1))} %, memory ${esc((last.memory / 1048576).toFixed(0))} MiB.` : ' No usage reported yet: start the server.'}</p>
    </div>`;
  }

  /** @param {HTMLElement} container @param {string | undefined} subtab */
  async function renderAdmin(container, subtab) {
    if (subtab === 'Revenue' || subtab === 'Transactions') {
      const s = await call('/admin/summary');
      if (subtab === 'Revenue') {
        return `<div class="stats" data-revenue>
          <div class="card stat"><span class="stat-label">Revenue</span><span class="stat-value">${esc(money(s.revenue, s.currency))}</span></div>
          <div class="card stat"><span class="stat-label">Outstanding</span><span class="stat-value">${esc(money(s.outstanding, s.currency))}</span></div>
          <div class="card stat"><span class="stat-label">Unpaid invoices</span><span class="stat-value">${s.unpaidInvoices} of ${s.invoices}</span></div>
        </div>`;
      }
      /** @type {Array<{created_at?: string, user_id: string, kind?: string, amount: number}>} */
      const txs = s.transactions;
      return txs.length
        ? `<table class="table" data-transactions><thead><tr><th>Date</th><th>User</th><th>Kind</th><th>Amount</th></tr></thead><tbody>${txs
          .map((t) => `<tr><td>${esc((t.created_at || '').slice(0, 19).replace('T', ' '))}</td><td>${esc(t.user_id)}</td><td>${esc(t.kind || '')}</td><td>${esc(money(t.amount, s.currency))}</td></tr>`)
          .join('')}</tbody></table>`
        : '<p class="empty">No transactions yet.</p>';
    }
    // Plans: the list and a form for a new one.
    /** @type {Array<{id: string, name: string, price: number, currency: string}>} */
    const plans = await call('/plans');
    container.innerHTML = `<div class="stack">
      ${plans.length ? `<table class="table" data-admin-plans><thead><tr><th>Plan</th><th>Price</th><th></th></tr></thead><tbody>${plans
        .map((p) => `<tr><td>${esc(p.name)}</td><td>${esc(money(p.price, p.currency))}</td><td><button type="button" class="btn btn-danger btn-small" data-delete="${esc(p.id)}">Delete</button></td></tr>`)
        .join('')}</tbody></table>` : '<p class="empty">No plans yet.</p>'}
      <form class="card stack" data-new-plan>
        <h2>New plan</h2>
        <label class="field"><span class="field-label">Name</span><input name="name" required maxlength="80"></label>
        <label class="field"><span class="field-label">Price per month</span><input name="price" type="number" min="0" step="0.01" required></label>
        <label class="field"><span class="field-label">Description</span><input name="description" maxlength="200"></label>
        <p><button type="submit" class="btn btn-primary">Add plan</button></p>
      </form>
    </div>`;
    const form = /** @type {HTMLFormElement} */ (container.querySelector('[data-new-plan]'));
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      const fields = new FormData(form);
      attempt(async () => {
        await call('/plans', 'POST', { name: String(fields.get('name')), price: Number(fields.get('price')), description: String(fields.get('description') || '') });
        sodium.toast.success('Plan added.');
        await renderAdmin(container, subtab);
      });
    });
    each(container, '[data-delete]', (button) => {
      button.addEventListener('click', () => attempt(async () => {
        if (!(await sodium.modal.confirm({ title: 'Delete this plan?', message: 'Invoices already made keep its name.', confirmText: 'Delete', danger: true }))) return;
        await call(`/plans/${encodeURIComponent(button.dataset.delete || '')}`, 'DELETE');
        await renderAdmin(container, subtab);
      }));
    });
  }

  sodium.ui.registerPages({
    '/billing': { render: renderOverview, title: 'Billing' },
    '/billing/plans': { render: renderPlans, title: 'Plans' },
    '/billing/invoices': { render: renderInvoices, title: 'Invoices' },
  });
  sodium.ui.addSidebarItem({
    label: 'Billing',
    icon: 'credit-card',
    href: '/billing',
    position: 'after:servers',
    badge: async () => (await call('/invoices/unpaid')).count || null,
  });
  sodium.ui.addDashboardWidget({
    id: 'balance',
    title: 'Balance',
    size: 'small',
    render: async () => {
      const { balance, currency } = await call('/balance');
      return `<div class="stat"><span class="stat-value" data-balance>${esc(money(balance, currency))}</span><span class="stat-label">${balance < 0 ? 'owed: see Billing' : 'in credit'}</span></div>`;
    },
  });
  sodium.ui.addServerTab({ id: 'usage', label: 'Usage & Cost', render: renderUsage });
  sodium.ui.addAdminTab({ id: 'billing', label: 'Billing', subtabs: ['Plans', 'Revenue', 'Transactions'], render: renderAdmin });
}
