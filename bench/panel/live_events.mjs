// Live events, measured at the clients: N WebSocket clients connected; a
// trigger (an HTTP request) makes the server send one status message to
// all of them; latency = trigger sent -> message received, per client.
//   node live_events.mjs patchbay <panel url> <token> <server id> <clients> <rounds> [stalled]
//   node live_events.mjs ws <peer url> <token> - <clients> <rounds> [stalled]
// Prints one JSON line: {clients, rounds, received, p50, p99, max} (ms),
// and where the time goes, as medians over the rounds: `first`, the trigger
// sent -> the first client's message (the server's path to its first send),
// and `spread`, the first client's message -> the last's (the fan-out).
import WebSocket from 'ws';

const [kind, base, token, serverId, clientsArg, roundsArg, stalledArg] = process.argv.slice(2);
const clients = Number(clientsArg);
const rounds = Number(roundsArg);
const stalled = Number(stalledArg || 0);
const wsUrl = base.replace(/^http/, 'ws') + (kind === 'patchbay' ? '/api/events' : '/');
const headers = kind === 'patchbay' ? { Authorization: `Bearer ${token}` } : {};

let round = -1;
let t0 = 0;
let waiting = 0;
let done = () => {};
const latencies = [];
let roundLatencies = [];
const firsts = [];
const spreads = [];

function connect(stall) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(wsUrl, { headers, perMessageDeflate: false });
    let seenRound = -1;
    ws.on('open', () => {
      if (stall) ws._socket.pause(); // reads nothing from here on
      resolve(ws);
    });
    ws.on('error', reject);
    ws.on('message', (data) => {
      if (stall) return;
      const m = JSON.parse(data);
      if (m.type !== 'server.status' || seenRound === round) return;
      seenRound = round;
      const latency = performance.now() - t0;
      latencies.push(latency);
      roundLatencies.push(latency);
      if (--waiting === 0) done();
    });
  });
}

const sockets = [];
for (let i = 0; i < clients; i += 100) {
  const batch = [];
  for (let j = i; j < Math.min(clients, i + 100); j++) batch.push(connect(false));
  sockets.push(...(await Promise.all(batch)));
}
for (let i = 0; i < stalled; i++) sockets.push(await connect(true));
await new Promise((r) => setTimeout(r, 500)); // hellos and the like, before measuring

async function trigger(r) {
  if (kind === 'patchbay') {
    const action = r % 2 === 0 ? 'start' : 'kill';
    const res = await fetch(`${base}/api/servers/${serverId}/power`, {
      method: 'POST', headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' }, body: JSON.stringify({ action }),
    });
    if (!res.ok) throw new Error(`power ${action}: ${res.status} ${await res.text()}`);
  } else { // the same request as patchbay's (headers and body), read by the peer before it broadcasts
    const action = r % 2 === 0 ? 'start' : 'kill';
    const res = await fetch(`${base}/trigger`, {
      method: 'POST', headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' }, body: JSON.stringify({ action }),
    });
    if (!res.ok) throw new Error(`trigger: ${res.status}`);
  }
}

if (kind === 'patchbay') { // rounds alternate start and kill: from offline
  const auth = { Authorization: `Bearer ${token}` };
  const { server } = await (await fetch(`${base}/api/servers/${serverId}`, { headers: auth })).json();
  if (server.status !== 'offline') {
    await fetch(`${base}/api/servers/${serverId}/power`, { method: 'POST', headers: { ...auth, 'Content-Type': 'application/json' }, body: '{"action":"kill"}' });
    await new Promise((r) => setTimeout(r, 300));
  }
}

let received = 0;
for (let r = 0; r < rounds; r++) {
  round = r;
  waiting = clients;
  roundLatencies = [];
  const all = new Promise((resolve) => { done = resolve; });
  t0 = performance.now();
  await trigger(r);
  await Promise.race([all, new Promise((resolve) => setTimeout(resolve, 5000))]);
  received += clients - waiting;
  if (roundLatencies.length > 0) {
    firsts.push(Math.min(...roundLatencies));
    spreads.push(Math.max(...roundLatencies) - Math.min(...roundLatencies));
  }
  await new Promise((resolve) => setTimeout(resolve, 100));
}
latencies.sort((a, b) => a - b);
const pick = (q) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))];
const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
console.log(JSON.stringify({ clients, rounds, stalled, received, expected: clients * rounds,
  p50: +pick(0.5).toFixed(2), p99: +pick(0.99).toFixed(2), max: +latencies[latencies.length - 1].toFixed(2),
  first: +median(firsts).toFixed(2), spread: +median(spreads).toFixed(2) }));
for (const s of sockets) s.terminate();
process.exit(0);
