// AI Chatbot in the browser: a chat widget on the dashboard and an admin
// tab with every conversation (seed 004's frontend API, the panel's classes).
/** @param {import('@patchbay/sdk/client').SodiumClient} sodium (types: sdk/client.d.ts) */
export default function (sodium) {
  const esc = sodium.escapeHtml;
  const style = `<style>
    .chat-log { display: flex; flex-direction: column; gap: 0.5rem; max-height: 320px; overflow-y: auto; padding: 0.25rem 0; }
    .chat-message { max-width: 85%; padding: 0.5rem 0.75rem; border-radius: var(--radius); white-space: pre-wrap; overflow-wrap: anywhere; }
    .chat-user { align-self: flex-end; background: var(--accent); color: var(--accent-text, #fff); }
    .chat-assistant { align-self: flex-start; background: var(--surface-2, var(--bg)); border: 1px solid var(--border); }
    .chat-form { display: flex; gap: 0.5rem; }
    .chat-form input { flex: 1; min-width: 0; }
  </style>`;

  /** @param {string} path @param {string} [method] @param {object} [body] */
  async function call(path, method = 'GET', body) {
    const res = await sodium.api(path, body === undefined ? { method } : { method, body: JSON.stringify(body), headers: { 'Content-Type': 'application/json' } });
    const text = await res.text();
    const data = text ? JSON.parse(text) : null;
    if (!res.ok) throw new Error((data && data.error) || `${res.status} ${res.statusText}`);
    return data;
  }

  /** @param {{sender: string, text: string}} m */
  const bubble = (m) => `<div class="chat-message chat-${m.sender === 'user' ? 'user' : 'assistant'}" data-sender="${esc(m.sender)}">${esc(m.text)}</div>`;

  /** @param {HTMLElement} container */
  async function renderChat(container) {
    const { messages, model } = await call('/conversation');
    container.innerHTML = `${style}<div class="stack">
      <div class="chat-log" data-chat-log aria-live="polite">${messages.length ? messages.map(bubble).join('') : '<p class="empty" data-chat-empty>Ask anything about your servers, billing or account.</p>'}</div>
      <form class="chat-form" data-chat-form>
        <input name="message" aria-label="Your question" placeholder="Type a question…" maxlength="2000" autocomplete="off" required>
        <button type="submit" class="btn btn-primary">Send</button>
      </form>
      <p class="muted small">${model ? 'Answers come from an AI model; an administrator may read this conversation.' : 'Built-in answers (no AI model configured); an administrator may read this conversation.'}</p>
    </div>`;
    const log = /** @type {HTMLElement} */ (container.querySelector('[data-chat-log]'));
    const form = /** @type {HTMLFormElement} */ (container.querySelector('[data-chat-form]'));
    const input = /** @type {HTMLInputElement} */ (form.elements.namedItem('message'));
    const button = /** @type {HTMLButtonElement} */ (form.querySelector('button'));
    log.scrollTop = log.scrollHeight;
    form.addEventListener('submit', async (event) => {
      event.preventDefault();
      const message = input.value.trim();
      if (!message) return;
      container.querySelector('[data-chat-empty]')?.remove();
      log.insertAdjacentHTML('beforeend', bubble({ sender: 'user', text: message }));
      log.insertAdjacentHTML('beforeend', '<div class="chat-message chat-assistant muted" data-thinking>…</div>');
      log.scrollTop = log.scrollHeight;
      input.value = '';
      button.disabled = true;
      try {
        const { reply } = await call('/conversation', 'POST', { message });
        log.querySelector('[data-thinking]')?.remove();
        log.insertAdjacentHTML('beforeend', bubble(reply));
      } catch (e) {
        log.querySelector('[data-thinking]')?.remove();
        sodium.toast.error(`The chatbot could not answer: ${e instanceof Error ? e.message : e}`);
        input.value = message;
      } finally {
        button.disabled = false;
        log.scrollTop = log.scrollHeight;
        input.focus();
      }
    });
  }

  /** @param {HTMLElement} container */
  async function renderConversations(container) {
    /** @type {Array<{id: string, username: string, updated_at: string, messages: number}>} */
    const list = await call('/admin/conversations');
    if (!list.length) {
      container.innerHTML = '<p class="empty" data-conversations-empty>No conversations yet.</p>';
      return;
    }
    container.innerHTML = `${style}<div class="stack">
      <div class="table-scroll"><table class="table" data-conversations><thead><tr><th>User</th><th>Messages</th><th>Last</th><th></th></tr></thead><tbody>${list
        .map((c) => `<tr><td>${esc(c.username)}</td><td>${c.messages}</td><td>${esc(String(c.updated_at).slice(0, 19).replace('T', ' '))}</td>
          <td><button type="button" class="btn btn-small" data-open="${esc(c.id)}">Read</button></td></tr>`)
        .join('')}</tbody></table></div>
      <section class="card stack" data-transcript hidden></section>
    </div>`;
    const transcript = /** @type {HTMLElement} */ (container.querySelector('[data-transcript]'));
    container.querySelectorAll('[data-open]').forEach((b) => b.addEventListener('click', async () => {
      try {
        const c = await call(`/admin/conversations/${encodeURIComponent(/** @type {HTMLElement} */ (b).dataset.open || '')}`);
        transcript.innerHTML = `<h2>${esc(c.username)}</h2><div class="chat-log">${c.messages.map(bubble).join('')}</div>`;
        transcript.hidden = false;
      } catch (e) {
        sodium.toast.error(e instanceof Error ? e.message : String(e));
      }
    }));
  }

  sodium.ui.addDashboardWidget({ id: 'chat', title: 'Support chat', size: 'medium', render: renderChat });
  sodium.ui.addAdminTab({ id: 'chats', label: 'Support chats', render: renderConversations });
}
