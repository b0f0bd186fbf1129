// @patchbay/sdk: the types of patchbay's plugin API (docs/runtime.md).
// server.d.ts is the `sodium` object of server.js; globals.d.ts what an
// isolate has beyond JavaScript's own.
/// <reference path="./globals.d.ts" />
export * from './server';
