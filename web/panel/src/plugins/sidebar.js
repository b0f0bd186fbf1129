// Plugins' sidebar items placed among the panel's: `position` as
// "before:<id>", "after:<id>", "top", "bottom" (the default) or a number
// (an index in the list). Ties keep the plugins' order (as the panel lists
// them, then as each added its items), so the order is the same every time
// and nothing is overwritten; an unknown anchor puts the item in a
// "Plugins" group and is reported to administrators.

function itemsOf(plugins, declared) {
  const out = [];
  for (const plugin of plugins) {
    const meta = { id: plugin.id, name: plugin.name };
    const hrefs = new Set();
    for (const [i, item] of (plugin.sidebarItems || []).entries()) {
      const href = item.href || item.path;
      if (!href || !item.label) continue;
      hrefs.add(href);
      out.push({ key: `${plugin.id}:s${i}`, rawId: item.id, label: String(item.label), icon: item.icon, path: href, position: item.position, plugin: meta });
    }
    for (const page of plugin.pages || []) {
      if (page.sidebar === false || !page.path || hrefs.has(page.path)) continue;
      hrefs.add(page.path);
      out.push({ key: `${plugin.id}:p${page.id || page.path}`, rawId: page.id, label: String(page.title || page.id), icon: page.icon, path: page.path, position: page.position, plugin: meta });
    }
    const fromClient = declared[plugin.id];
    for (const item of (fromClient && fromClient.sidebarItems) || []) {
      if (!item.href || !item.label) continue;
      out.push({ key: `${plugin.id}:c${item.index}`, rawId: item.id, label: item.label, icon: item.icon, path: item.href, position: item.position,
        badgeKey: item.hasBadge ? `${plugin.id}:${item.index}` : undefined, plugin: meta });
    }
  }
  // Stable ids: the plugin's own, else made from the link ("/billing" ->
  // "billing"), unique within the plugin, as the server side makes them.
  const taken = new Set();
  return out.map((item) => {
    const base = item.rawId ? String(item.rawId)
      : String(item.path || item.label).toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-+|-+$/g, '') || 'item';
    let id = `plugin.${item.plugin.id}.${base}`;
    for (let n = 2; taken.has(id); n++) id = `plugin.${item.plugin.id}.${base}-${n}`;
    taken.add(id);
    return { ...item, id };
  });
}

// The panel's main items with the plugins' placed among them; returns
// {items, grouped, problems}.
export function placeSidebarItems(panelItems, plugins, declared) {
  const placed = panelItems.map((i) => ({ ...i }));
  const top = [], bottom = [], numbered = [], grouped = [], problems = [];
  const afterCount = new Map();
  const find = (anchor) => placed.findIndex((i) => i.id === anchor || (i.rawId && i.rawId === anchor));
  for (const item of itemsOf(plugins, declared)) {
    const pos = item.position;
    if (pos === 'top') top.push(item);
    else if (typeof pos === 'number' && Number.isFinite(pos)) numbered.push(item);
    else if (typeof pos === 'string' && (pos.startsWith('before:') || pos.startsWith('after:'))) {
      const after = pos.startsWith('after:');
      const anchor = pos.slice(after ? 6 : 7);
      const at = find(anchor);
      if (at < 0) {
        grouped.push(item);
        problems.push(`${item.plugin.name}: the sidebar item "${item.label}" is placed ${after ? 'after' : 'before'} "${anchor}", which does not exist; shown under Plugins`);
        continue;
      }
      if (after) {
        const n = afterCount.get(anchor) || 0;
        placed.splice(at + 1 + n, 0, item);
        afterCount.set(anchor, n + 1);
      } else {
        placed.splice(at, 0, item);
      }
    } else bottom.push(item);
  }
  const items = [...top, ...placed, ...bottom];
  numbered.sort((a, b) => a.position - b.position);
  for (const item of numbered) items.splice(Math.max(0, Math.min(items.length, Math.trunc(item.position))), 0, item);
  return { items, grouped, problems };
}

export function badgeText(value) {
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) return null;
  return value > 99 ? '99+' : String(Math.trunc(value));
}
