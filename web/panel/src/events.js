// The live-events WebSocket (/api/events): one per tab, reconnecting with
// backoff, watched by heartbeats. Listeners subscribe by message type.

const listeners = new Map();
let socket = null;
let wanted = false;
let retry = 0;
let watchdog = 0;
let statusListeners = new Set();
let connected = false;

function setConnected(value) {
  if (connected === value) return;
  connected = value;
  statusListeners.forEach((l) => l(value));
}

function dispatch(message) {
  for (const l of listeners.get(message.type) || []) l(message);
  for (const l of listeners.get('*') || []) l(message);
}

function armWatchdog() {
  clearTimeout(watchdog);
  // Heartbeats come every 25 s: silence for 60 s means the connection is dead.
  watchdog = setTimeout(() => socket && socket.close(), 60000);
}

function open() {
  if (!wanted) return;
  const scheme = location.protocol === 'https:' ? 'wss' : 'ws';
  socket = new WebSocket(`${scheme}://${location.host}/api/events`);
  socket.onopen = () => {
    retry = 0;
    setConnected(true);
    armWatchdog();
    // What this tab shows (plugins hear it as the ws:message hook).
    socket.send(JSON.stringify({ type: 'subscribe', path: location.pathname }));
  };
  socket.onmessage = (event) => {
    armWatchdog();
    let message;
    try {
      message = JSON.parse(event.data);
    } catch {
      return;
    }
    dispatch(message);
  };
  socket.onclose = () => {
    clearTimeout(watchdog);
    socket = null;
    setConnected(false);
    if (!wanted) return;
    const delay = Math.min(30000, 500 * 2 ** retry++);
    setTimeout(open, delay);
  };
}

export const liveEvents = {
  start() {
    if (wanted) return;
    wanted = true;
    open();
  },
  stop() {
    wanted = false;
    if (socket) socket.close();
  },
  on(type, listener) {
    if (!listeners.has(type)) listeners.set(type, new Set());
    listeners.get(type).add(listener);
    return () => listeners.get(type).delete(listener);
  },
  // Tells the panel what this tab shows (a server's page gets its usage and log lines).
  watch(path) {
    if (socket && socket.readyState === WebSocket.OPEN) socket.send(JSON.stringify({ type: 'subscribe', path }));
  },
  send(message) {
    if (socket && socket.readyState === WebSocket.OPEN) socket.send(JSON.stringify(message));
  },
  onStatus(listener) {
    statusListeners.add(listener);
    return () => statusListeners.delete(listener);
  },
  get connected() {
    return connected;
  },
};
