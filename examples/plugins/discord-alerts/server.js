// Discord Alerts (seed 004, type "hook"): posts a message to a Discord
// webhook when a server is created or changes state.
/** @param {import('@patchbay/sdk').Sodium} sodium (types: sdk/) */
export default function (sodium) {
  /** @param {string} content */
  async function post(content) {
    const url = sodium.config.get('webhook_url');
    if (!url) {
      sodium.logger.warn('webhook_url is not set; skipping Discord alert');
      return;
    }
    const res = await fetch(url, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ content }),
    });
    if (!res.ok) sodium.logger.error(`Discord answered ${res.status}`);
  }

  sodium.hooks.on('server:onCreate', async (ctx) => {
    await post(`:new: Server **${ctx.server.name}** was created by ${ctx.user.username}.`);
  });

  sodium.hooks.on('server:onStatusChange', async (ctx) => {
    await post(`:arrows_counterclockwise: Server **${ctx.server.name}**: ${ctx.action}.`);
  });
}
