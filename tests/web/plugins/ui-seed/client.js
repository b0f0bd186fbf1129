// Seed 004's client API: registered here, render functions return what to show.
/** @param {import('@patchbay/sdk/client').SodiumClient} sodium (types: sdk/client.d.ts) */
export default function (sodium) {
  sodium.ui.registerPages({
    // fetch() of its own routes, as code written for Sodium's page does.
    '/seed': { title: 'Seed page', render: async () => `<h2 id="seed-page">Seed page body</h2><p id="unpaid">${(await (await fetch('/api/plugins/ui-seed/unpaid')).json()).count}</p>` },
    '/servers': { title: 'Not allowed', render: () => '<p id="hijack">a panel path taken</p>' },
    '/seed/node': { title: 'Seed node page', render: () => { const p = document.createElement('p'); p.id = 'seed-node'; p.textContent = 'a DOM node'; return p; } },
  });
  sodium.ui.addSidebarItem({ label: 'Seed', icon: 'list', href: '/seed', position: 'after:servers',
    badge: async () => (await (await sodium.api('/unpaid')).json()).count });
  sodium.ui.addSidebarItem({ label: 'Seed first', href: '/seed/node', position: 'top' });
  sodium.ui.addSidebarItem({ label: 'Seed lost', href: '/seed', position: 'after:nowhere' });
  sodium.ui.addServerTab({ id: 'usage', label: 'Usage & Cost', render: (serverId) => `<p id="usage">Usage of ${sodium.escapeHtml(serverId)}</p>` });
  sodium.ui.addDashboardWidget({ id: 'balance', title: 'Balance', size: 'small', render: () => Promise.resolve('<p id="balance">$12.00</p>') });
  sodium.ui.addAdminTab({ id: 'billing', label: 'Seed admin', subtabs: ['Plans', 'Revenue'],
    render: (container, subtab) => `<p id="subtab">Subtab ${sodium.escapeHtml(subtab)}</p>` });
}
