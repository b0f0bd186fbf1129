// The globals a plugin's isolate has beyond JavaScript's own (ES2022):
// nothing of Node (no require, process, Buffer, fs) and no DOM. Use with
// "lib": ["ES2022"] in tsconfig.json, as `patchbay init` writes it.

interface Console {
  log(...values: unknown[]): void;
  info(...values: unknown[]): void;
  debug(...values: unknown[]): void;
  warn(...values: unknown[]): void;
  error(...values: unknown[]): void;
  trace(...values: unknown[]): void;
}
declare var console: Console;

/** The plugin's own timers (at most 10,000 pending); the id is a number. */
declare function setTimeout<A extends unknown[]>(handler: (...args: A) => void, ms?: number, ...args: A): number;
declare function setInterval<A extends unknown[]>(handler: (...args: A) => void, ms?: number, ...args: A): number;
declare function clearTimeout(id: number | undefined): void;
declare function clearInterval(id: number | undefined): void;
declare function queueMicrotask(callback: () => void): void;
declare function structuredClone<T>(value: T): T;
declare var crypto: { randomUUID(): string };

declare function atob(data: string): string;
declare function btoa(data: string): string;

declare class TextEncoder {
  readonly encoding: 'utf-8';
  encode(input?: string): Uint8Array;
}
declare class TextDecoder {
  constructor(label?: string, options?: { fatal?: boolean; ignoreBOM?: boolean });
  readonly encoding: string;
  decode(input?: ArrayBuffer | ArrayBufferView): string;
}

declare class URLSearchParams {
  constructor(init?: string | Record<string, string> | Array<[string, string]> | URLSearchParams);
  append(name: string, value: string): void;
  delete(name: string): void;
  get(name: string): string | null;
  getAll(name: string): string[];
  has(name: string): boolean;
  set(name: string, value: string): void;
  sort(): void;
  forEach(callback: (value: string, name: string) => void): void;
  entries(): IterableIterator<[string, string]>;
  keys(): IterableIterator<string>;
  values(): IterableIterator<string>;
  [Symbol.iterator](): IterableIterator<[string, string]>;
  toString(): string;
  readonly size: number;
}

declare class URL {
  constructor(url: string, base?: string | URL);
  hash: string;
  host: string;
  hostname: string;
  href: string;
  readonly origin: string;
  password: string;
  pathname: string;
  port: string;
  protocol: string;
  search: string;
  readonly searchParams: URLSearchParams;
  username: string;
  toString(): string;
  toJSON(): string;
}

/** Headers of a fetch answer (names in any case). */
interface FetchHeaders {
  get(name: string): string | null;
  has(name: string): boolean;
  forEach(callback: (value: string, name: string) => void): void;
  entries(): IterableIterator<[string, string]>;
}

interface FetchResponse {
  readonly ok: boolean;
  readonly status: number;
  readonly statusText: string;
  readonly url: string;
  readonly headers: FetchHeaders;
  text(): Promise<string>;
  json<T = any>(): Promise<T>;
}

interface FetchInit {
  method?: string;
  headers?: Record<string, string> | Array<[string, string]> | FetchHeaders;
  body?: string;
}

/**
 * Outbound HTTP, for plugins whose manifest lists `webhooks:send` (or an
 * administrator's grant), to the hosts they are granted; rejects with
 * TypeError naming why otherwise.
 */
declare function fetch(input: string | URL, init?: FetchInit): Promise<FetchResponse>;
