// AI Chatbot (seed 002's customer-support chatbot, as a patchbay plugin):
// each user's conversation with the assistant, kept in the plugin's own
// data; an OpenAI-compatible endpoint answers when an API key is set, the
// built-in answers when not. Administrators read every conversation.
/** @param {import('@patchbay/sdk').Sodium} sodium (types: sdk/) */
export default function (sodium) {
  sodium.db.registerCollections(['sessions', 'messages']);

  const MAX_MESSAGE = 2000;
  const HISTORY = 12; // messages sent to the model with each question

  /** @typedef {{id: string, session_id: string, seq: number, sender: 'user' | 'assistant', text: string, created_at: string, source?: string}} Message */

  /** The caller of a route behind sodium.auth.requireUser. @param {import('@patchbay/sdk').Request} req */
  const caller = (req) => /** @type {import('@patchbay/sdk').RequestUser} */ (req.user);

  /** @param {{id: string | number, username?: string}} user */
  function sessionOf(user) {
    const found = sodium.db.findOne('sessions', { user_id: String(user.id) });
    if (found) return found;
    return sodium.db.insert('sessions', { user_id: String(user.id), username: user.username || '', status: 'active', created_at: new Date().toISOString() });
  }

  /** @param {string} sessionId @returns {Message[]} */
  function messagesOf(sessionId) {
    return /** @type {Message[]} */ (sodium.db.find('messages', { session_id: sessionId })).sort((/** @type {Message} */ a, /** @type {Message} */ b) => a.seq - b.seq);
  }

  // What the assistant says without a model: a few of a panel's common
  // questions, and where to go for the rest.
  const builtIn = [
    { words: ['create', 'new server', 'make a server'], answer: 'To create a server, open Servers and choose "New server": give it a name and the memory it needs.' },
    { words: ['start', 'stop', 'restart', 'offline'], answer: 'Open the server and use Start, Stop or Restart at the top of its page; its console shows what it does.' },
    { words: ['bill', 'invoice', 'pay', 'balance', 'plan', 'price'], answer: 'Your balance, invoices and plans are under Billing in the sidebar (when the Billing plugin is installed).' },
    { words: ['password', 'log in', 'login', 'sign in'], answer: 'Change your password under Profile. If you cannot sign in, ask an administrator to reset it.' },
    { words: ['hello', 'hi', 'hey'], answer: 'Hello! Ask me about your servers, billing or your account.' },
  ];
  /** @param {string} question */
  function answerBuiltIn(question) {
    const q = question.toLowerCase();
    const hit = builtIn.find((rule) => rule.words.some((w) => q.includes(w)));
    return hit ? hit.answer : "I don't know that one yet; an administrator will read this conversation and can help.";
  }

  /** @param {Message[]} history */
  async function answerWithModel(history) {
    const res = await fetch(String(sodium.config.get('api_url')), {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${sodium.config.get('api_key')}` },
      body: JSON.stringify({
        model: sodium.config.get('model'),
        messages: [
          { role: 'system', content: String(sodium.config.get('system_prompt') || '') },
          ...history.slice(-HISTORY).map((m) => ({ role: m.sender, content: m.text })),
        ],
      }),
    });
    if (!res.ok) throw new Error(`the model's endpoint answered ${res.status}`);
    const body = await res.json();
    const text = body && body.choices && body.choices[0] && body.choices[0].message && body.choices[0].message.content;
    if (typeof text !== 'string' || !text.trim()) throw new Error("the model's answer has no text");
    return text.trim();
  }

  sodium.http.registerRoutes((router) => {
    router.get('/conversation', sodium.auth.requireUser, (req) => {
      const session = sessionOf(caller(req));
      return { session: session.id, messages: messagesOf(String(session.id)), model: !!sodium.config.get('api_key') };
    });

    router.post('/conversation', sodium.auth.requireUser, async (req, res) => {
      const text = req.body && typeof req.body.message === 'string' ? req.body.message.trim() : '';
      if (!text) return res.status(400).json({ error: 'message (a non-empty string) is required' });
      if (text.length > MAX_MESSAGE) return res.status(413).json({ error: `a message holds at most ${MAX_MESSAGE} characters; this one has ${text.length}` });
      const session = sessionOf(caller(req));
      const seq = sodium.db.count('messages', { session_id: String(session.id) });
      const asked = sodium.db.insert('messages', { session_id: String(session.id), seq, sender: 'user', text, created_at: new Date().toISOString() });
      let answer;
      let source = 'built-in';
      if (sodium.config.get('api_key')) {
        try {
          answer = await answerWithModel(messagesOf(String(session.id)));
          source = 'model';
        } catch (e) {
          sodium.logger.warn(`ai-chatbot: ${e instanceof Error ? e.message : e}; answering from the built-in answers`);
        }
      }
      const reply = sodium.db.insert('messages', {
        session_id: String(session.id), seq: sodium.db.count('messages', { session_id: String(session.id) }), sender: 'assistant', text: answer || answerBuiltIn(text), source, created_at: new Date().toISOString(),
      });
      sodium.db.update('sessions', session.id, { updated_at: reply.created_at });
      res.status(201).json({ asked, reply });
    });

    router.delete('/conversation', sodium.auth.requireUser, (req, res) => {
      const session = sessionOf(caller(req));
      for (const m of messagesOf(String(session.id))) sodium.db.delete('messages', m.id);
      res.sendStatus(204);
    });

    // Administrators: every conversation, newest first, and one in full.
    router.get('/admin/conversations', sodium.auth.requireAdmin, () => sodium.db.find('sessions')
      .map((s) => ({ id: s.id, username: s.username, user_id: s.user_id, updated_at: s.updated_at || s.created_at, messages: sodium.db.count('messages', { session_id: s.id }) }))
      .filter((s) => s.messages > 0)
      .sort((a, b) => String(b.updated_at).localeCompare(String(a.updated_at))));
    router.get('/admin/conversations/:id', sodium.auth.requireAdmin, (req, res) => {
      const session = sodium.db.findOne('sessions', { id: req.params.id });
      if (!session) return res.status(404).json({ error: 'no such conversation' });
      res.json({ id: session.id, username: session.username, messages: messagesOf(String(session.id)) });
    });
  });
}
