// Billing & Payments: pages, sidebar item, a balance widget and admin tab (seed 004's frontend API).
/** @param {import('@patchbay/sdk/client').SodiumClient} sodium (types: sdk/client.d.ts) */
export default function (sodium) {
  /** @param {HTMLElement} el */
  async function renderBillingDashboard(el) {
    const res = await fetch('/api/plugins/billing/balance');
    const { balance } = await res.json();
    el.textContent = `Balance: ${balance}`;
  }
  /** @param {HTMLElement} el */
  async function renderPlans(el) {
    /** @type {Array<{name: string, price: number, currency: string}>} */
    const plans = await (await fetch('/api/plugins/billing/plans')).json();
    el.textContent = plans.map((p) => `${p.name}: ${p.price} ${p.currency}`).join('\n');
  }

  sodium.ui.registerPages({
    '/billing': { render: renderBillingDashboard, title: 'Billing' },
    '/billing/plans': { render: renderPlans, title: 'Plans' },
  });
  sodium.ui.addSidebarItem({ label: 'Billing', icon: 'credit-card', href: '/billing', position: 'after:servers' });
  sodium.ui.addDashboardWidget({
    id: 'balance',
    title: 'Balance',
    size: 'small',
    render: async () => {
      const { balance } = await (await fetch('/api/plugins/billing/balance')).json();
      return `<p class="stat-value" data-balance>${sodium.escapeHtml(String(balance))}</p>`;
    },
  });
  sodium.ui.addAdminTab({ id: 'billing', label: 'Billing', subtabs: ['Plans', 'Revenue', 'Transactions'], render: renderPlans });
}
