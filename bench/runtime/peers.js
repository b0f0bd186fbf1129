// The peers' side of bench/runtime, in one Node process:
//   node peers.js hooks        EventEmitter and isolated-vm: ns per handler for N = 1 and 10
//   node peers.js activation   isolated-vm: ms per isolate (p50) and MB per isolate at 100
//   node peers.js express PORT | fastify PORT   the route benchmark's servers
// Prints JSON (one object) for the measurements.
'use strict';
const { EventEmitter } = require('node:events');

const mode = process.argv[2];
// The handlers of bench/runtime/runtime_bench.cc: one that reads the
// context, one that changes it.
const handlerSources = {
  reading: '(ctx) => { if (ctx.user.balance < 0) ctx.denied = true; }',
  changing: '(ctx) => { ctx.count = (ctx.count || 0) + 1; if (ctx.user.balance < 0) ctx.denied = true; }',
};
const handlerSource = handlerSources.changing;

function timeIt(fn, iterations) {
  for (let i = 0; i < Math.min(1000, iterations); i++) fn();  // warm up
  const start = process.hrtime.bigint();
  for (let i = 0; i < iterations; i++) fn();
  return Number(process.hrtime.bigint() - start) / iterations;
}

if (mode === 'hooks') {
  const ivm = require('isolated-vm');
  const out = {};
  for (const [kind, source] of Object.entries(handlerSources)) {
    for (const n of [1, 10]) {
      // EventEmitter: one object shared by the handlers, nothing copied.
      const emitter = new EventEmitter();
      for (let i = 0; i < n; i++) emitter.on('server:beforeCreate', eval(source));
      out[`eventemitter_${kind}_${n}_ns_per_emit`] = timeIt(() => {
        const ctx = { user: { id: 1, balance: 5 }, name: 'mc', node: 'n1' };
        emitter.emit('server:beforeCreate', ctx);
      }, 200000);

      // isolated-vm: one isolate per plugin, the context copied in and,
      // for the next handler and the emitter, out again, as an isolated
      // runtime sharing one context along the chain must.
      const handlers = [];
      for (let i = 0; i < n; i++) {
        const isolate = new ivm.Isolate({ memoryLimit: 64 });
        const context = isolate.createContextSync();
        context.evalSync(`globalThis.handler = (ctx) => { (${source})(ctx); return ctx; }`);
        handlers.push(context.global.getSync('handler', { reference: true }));
      }
      out[`isolatedvm_${kind}_${n}_ns_per_emit`] = timeIt(() => {
        let ctx = { user: { id: 1, balance: 5 }, name: 'mc', node: 'n1' };
        for (const h of handlers) ctx = h.applySync(undefined, [ctx], { arguments: { copy: true }, result: { copy: true } });
      }, n === 1 ? 50000 : 10000);
    }
  }
  console.log(JSON.stringify(out));
} else if (mode === 'activation') {
  const ivm = require('isolated-vm');
  const times = [];
  const keep = [];
  const rssBefore = process.memoryUsage().rss;
  for (let i = 0; i < 100; i++) {
    const start = process.hrtime.bigint();
    const isolate = new ivm.Isolate({ memoryLimit: 64 });
    const context = isolate.createContextSync();
    context.evalSync(`globalThis.plugin = { id: ${i}, handlers: [${handlerSource}] };`);
    times.push(Number(process.hrtime.bigint() - start) / 1e6);
    keep.push({ isolate, context });
  }
  times.sort((a, b) => a - b);
  const rss = process.memoryUsage().rss;
  console.log(JSON.stringify({ isolatedvm_activation_ms_p50: times[50], isolatedvm_mb_per_isolate: (rss - rssBefore) / 100 / 1048576 }));
} else if (mode === 'express' || mode === 'fastify') {
  const port = Number(process.argv[3]);
  const items = Array.from({ length: 100 }, (_, i) => ({ id: String(i), name: `item ${i}`, price: i * 3 }));
  if (mode === 'express') {
    const app = require('express')();
    app.get('/items', (req, res) => res.json(items));
    app.get('/const', (req, res) => res.json({ ok: true }));
    app.listen(port, '127.0.0.1');
  } else {
    const app = require('fastify')();
    app.get('/items', async () => items);
    app.get('/const', async () => ({ ok: true }));
    app.listen({ port, host: '127.0.0.1' });
  }
} else {
  console.error('usage: node peers.js hooks|activation|express PORT|fastify PORT');
  process.exit(2);
}
