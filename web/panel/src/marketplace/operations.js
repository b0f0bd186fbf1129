// The marketplace's operations as this tab knows them: each one's latest
// state from the panel's live events (plugin.operation), or by asking the
// panel while the live connection is down. Components read them per plugin.
import { useEffect, useState } from 'preact/hooks';
import { get, post } from '../api.js';
import { liveEvents } from '../events.js';

const byId = new Map(); // operation id -> its latest JSON
const listeners = new Set();
let pollTimer = null;

function changed() {
  listeners.forEach((l) => l());
}

function remember(op) {
  const known = byId.get(op.id);
  // Events can overtake a poll's answer: a finished operation stays finished.
  if (known && (known.state === 'done' || known.state === 'failed') && op.state !== known.state) return;
  byId.set(op.id, op);
  changed();
  if (op.state === 'done' || op.state === 'failed') finishedListeners.forEach((l) => l(op));
  schedulePoll();
}

const finishedListeners = new Set();
// `listener(op)` when an operation ends (to reload what it changed).
export function onOperationFinished(listener) {
  finishedListeners.add(listener);
  return () => finishedListeners.delete(listener);
}

liveEvents.on('plugin.operation', (message) => {
  if (message && message.operation && typeof message.operation.id === 'string') remember(message.operation);
});

const running = () => [...byId.values()].filter((op) => op.state === 'queued' || op.state === 'running');

// Without the live connection, the operations under way are asked for every second.
function schedulePoll() {
  if (pollTimer || running().length === 0) return;
  pollTimer = setTimeout(async () => {
    pollTimer = null;
    if (!liveEvents.connected) {
      for (const op of running()) {
        try {
          const answer = await get(`/api/admin/marketplace/operations/${encodeURIComponent(op.id)}`);
          remember(answer.operation);
        } catch {
          // asked again next time
        }
      }
    }
    schedulePoll();
  }, 1000);
}

// Starts an operation ({action, id, version, keepData, acceptPermissions});
// resolves with it as queued, or throws the panel's refusal (ApiError).
export async function startOperation(request) {
  const answer = await post('/api/admin/marketplace/operations', request);
  remember(answer.operation);
  return answer.operation;
}

// The latest operation of plugin `pluginId` this tab knows of, or null.
export function useOperation(pluginId) {
  const [, setTick] = useState(0);
  useEffect(() => {
    const listener = () => setTick((n) => n + 1);
    listeners.add(listener);
    return () => listeners.delete(listener);
  }, []);
  let latest = null;
  for (const op of byId.values()) {
    if (op.plugin === pluginId && (!latest || Number(op.id.slice(3)) > Number(latest.id.slice(3)))) latest = op;
  }
  return latest;
}

const stepLabels = {
  download: 'Downloading',
  verify: 'Verifying',
  unpack: 'Unpacking',
  migrate: 'Migrating data',
  activate: 'Starting',
  deactivate: 'Stopping',
  remove: 'Removing files',
};
const doneLabels = { install: 'Installed', upgrade: 'Upgraded', uninstall: 'Uninstalled' };

// What an operation is doing, for people: "Downloading billing… 40%".
export function describeOperation(op) {
  if (op.state === 'queued') return 'Waiting for the operation before it…';
  if (op.state === 'done') return `${doneLabels[op.action] || 'Done'}${op.report && op.report.version ? ` ${op.report.version}` : ''}.`;
  if (op.state === 'failed') return op.error || 'Failed.';
  if (!op.step) return 'Starting…';
  const who = op.stepPlugin && op.stepPlugin !== op.plugin ? ` ${op.stepPlugin} (required)` : '';
  const percent = op.step === 'download' && op.total > 0 ? ` ${Math.min(100, Math.round((100 * op.done) / op.total))}%` : '';
  return `${stepLabels[op.step] || op.step}${who}…${percent}`;
}

// 0..1 through the operation's steps (the download's bytes within its step).
export function operationFraction(op) {
  if (op.state === 'done') return 1;
  if (!op.step) return 0.02;
  const steps = op.action === 'uninstall' ? ['deactivate', 'migrate', 'remove'] : ['download', 'verify', 'unpack', 'migrate', 'activate'];
  const index = Math.max(0, steps.indexOf(op.step));
  const within = op.step === 'download' && op.total > 0 ? Math.min(1, op.done / op.total) : 0.5;
  return (index + within) / steps.length;
}
