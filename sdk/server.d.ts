// The server API of a patchbay plugin: what `server.js` (or `server.ts`)
// gets as `sodium` from its default export, as docs/runtime.md describes it.
// It is the Sodium panel's plugin API (sodiumpanel/panel,
// src/server/plugins/api.js), so plugins written for Sodium type-check too.
//
//   /** @param {import('@patchbay/sdk').Sodium} sodium */
//   export default function (sodium) { ... }
//
//   import type { Sodium } from '@patchbay/sdk';
//   export default function (sodium: Sodium) { ... }

/** Any value JSON can carry: what crosses between plugins, the panel and the runtime. */
export type Json = string | number | boolean | null | Json[] | { [key: string]: Json };

/** A JSON object. */
export type JsonObject = { [key: string]: Json };

/** What a handler may return: a value or a promise of one. */
export type MaybePromise<T> = T | Promise<T>;

// ---------------------------------------------------------------------------
// db

/** A record of one of the plugin's collections: its `id` and what the plugin put in it. */
export interface DbRecord {
  id: string | number;
  [field: string]: any;
}

/** A field's condition in a query: a value (equality) or operators. */
export type DbCondition =
  | Json
  | { $gt?: Json; $gte?: Json; $lt?: Json; $lte?: Json; $ne?: Json; $in?: Json[] };

/** An AND of field conditions. */
export type DbQuery = { [field: string]: DbCondition };

/** What `db.sql` answers for a statement that is not a SELECT. */
export interface SqlChanges {
  changes: number;
  lastInsertRowid: number;
}

/** The plugin's own data: collections of JSON records, and SQL over its migrations' tables. Synchronous. */
export interface Db {
  /** Declares the plugin's collections (created when first used). */
  registerCollections(names: string[]): void;
  /** Every record matching `query` (all of them without one). */
  find<T extends DbRecord = DbRecord>(collection: string, query?: DbQuery): T[];
  /** The first record matching `query`, or null. */
  findOne<T extends DbRecord = DbRecord>(collection: string, query?: DbQuery): T | null;
  /** How many records match `query`. */
  count(collection: string, query?: DbQuery): number;
  /** Stores `record` and answers it; a record without a truthy `id` gets a UUID (the caller's object too). */
  insert<T extends object>(collection: string, record: T): T & DbRecord;
  /** Merges `changes` into the record (its `id` stays) and answers it, or null when there is no such record. */
  update<T extends DbRecord = DbRecord>(collection: string, id: string | number, changes: object): T | null;
  /** Removes the record: true, or false when there was none. */
  delete(collection: string, id: string | number): boolean;
  /** One SQL statement with `?` parameters: rows for a SELECT, else the changes. */
  sql<Row extends object = { [column: string]: Json }>(query: string, params?: Json[]): Row[] | SqlChanges;
}

// ---------------------------------------------------------------------------
// http

/** The signed-in caller, as Sodium's `req.user`. */
export interface RequestUser {
  id: string;
  username: string;
  isAdmin: boolean;
  role?: string;
  [field: string]: any;
}

/** A request to one of the plugin's routes (Express's shape). */
export interface Request<Body = any> {
  method: string;
  /** Below the plugin's mount point (`/api/plugins/<id>`), starting with "/". */
  path: string;
  url: string;
  originalUrl: string;
  /** The route's `:name` parameters, decoded. */
  params: { [name: string]: string };
  /** The query string; a key given more than once is an array. */
  query: { [key: string]: string | string[] };
  /** Header names in lower case. */
  headers: { [name: string]: string };
  /** JSON and urlencoded bodies parsed, text as a string, bytes as a Uint8Array. */
  body: Body;
  /** The signed-in caller, or null. */
  user: RequestUser | null;
  /** The caller's address. */
  ip: string;
  /** A header's value (any case), or undefined. */
  get(name: string): string | undefined;
  header(name: string): string | undefined;
}

/** The answer to a request (Express's shape); each setter returns it again. */
export interface Response {
  statusCode: number;
  headers: { [name: string]: string };
  /** Whether an answer was sent. */
  sent: boolean;
  /** 200-599; anything else throws RangeError. */
  status(code: number): Response;
  /** A header (a name that is not an HTTP token, or a value with CR, LF or NUL, throws TypeError). */
  set(name: string, value: string | number): Response;
  set(headers: { [name: string]: string | number }): Response;
  header(name: string, value: string | number): Response;
  /** The content type by extension ("json", "html", "css", ...) or as given ("text/csv"). */
  type(type: string): Response;
  json(value: unknown): Response;
  /** An object goes as JSON, bytes as application/octet-stream, anything else as HTML text. */
  send(value?: unknown): Response;
  end(value?: string | Uint8Array | ArrayBuffer): Response;
  /** The status with its text as the body ("Not Found"). */
  sendStatus(code: number): Response;
  redirect(location: string): Response;
  redirect(status: number, location: string): Response;
}

/** Calls the next handler of the chain; with an error, fails the request. */
export type NextFunction = (error?: unknown) => Promise<unknown>;

/**
 * A route handler or middleware. What it returns (when it sent nothing) is
 * sent: an object as JSON, a string as text.
 */
export type Handler = (req: Request, res: Response, next: NextFunction) => unknown;

/** A route's handlers: functions, or arrays of them. */
export type Handlers = Array<Handler | Handler[]>;

/** The plugin's routes, below `/api/plugins/<id>/`. Each method returns the router again. */
export interface Router {
  get(path: string, ...handlers: Handlers): Router;
  post(path: string, ...handlers: Handlers): Router;
  put(path: string, ...handlers: Handlers): Router;
  patch(path: string, ...handlers: Handlers): Router;
  delete(path: string, ...handlers: Handlers): Router;
  head(path: string, ...handlers: Handlers): Router;
  options(path: string, ...handlers: Handlers): Router;
  /** Every method. */
  all(path: string, ...handlers: Handlers): Router;
  /** Middleware for a path and everything below it (every path without one). */
  use(path: string, ...handlers: Handlers): Router;
  use(...handlers: Handlers): Router;
  /** One path, several methods: `router.route('/x').get(a).post(b)`. */
  route(path: string): RouteChain;
}

export interface RouteChain {
  get(...handlers: Handlers): RouteChain;
  post(...handlers: Handlers): RouteChain;
  put(...handlers: Handlers): RouteChain;
  patch(...handlers: Handlers): RouteChain;
  delete(...handlers: Handlers): RouteChain;
  head(...handlers: Handlers): RouteChain;
  options(...handlers: Handlers): RouteChain;
  all(...handlers: Handlers): RouteChain;
}

export interface Http {
  /** Declares the plugin's routes; calling it again replaces them. */
  registerRoutes(register: (router: Router) => void): void;
  /** Runs before every one of this plugin's routes (not other plugins': theirs are their own). */
  addMiddleware(middleware: Handler): void;
}

// ---------------------------------------------------------------------------
// hooks

/** A user as hooks and `sodium.data` see one: never a password hash, a two-factor code or a reset token. */
export interface PanelUser {
  id: string;
  username: string;
  email?: string;
  isAdmin: boolean;
  role?: 'admin' | 'user';
  created_at?: string;
}

/** A server of the panel. */
export interface PanelServer {
  id: string;
  name: string;
  description?: string;
  user_id: string;
  node_id: string;
  status: 'offline' | 'starting' | 'running' | 'stopping' | string;
  limits: { memory: number; disk: number; cpu: number };
  created_at?: string;
}

/** A node (a machine servers run on); never its daemon token. */
export interface PanelNode {
  id: string;
  name: string;
  location?: string;
  memory?: number;
  disk?: number;
  created_at?: string;
}

/** A server's resource usage, as the panel reports it. */
export interface ResourceUsage {
  /** Percent of one core. */
  cpu: number;
  /** Bytes. */
  memory: number;
  /** Bytes. */
  disk: number;
}

/**
 * What every hook handler's context has, as in Sodium's hooks.js: one
 * object travels the whole chain, so what a handler changes is what the
 * next one sees and what the panel gets back.
 */
export interface HookControl {
  /** Ends the chain; for a `before*` hook the panel refuses the action with `reason`. */
  deny(reason?: string): void;
  _denied: boolean;
  _denyReason: string | null | undefined;
}

/**
 * The contexts of the panel's hook points (seed 004). A handler may add
 * fields of its own (the next handlers and the panel see them), so a
 * context is open to more than these; the fields listed are the panel's.
 */
export interface HookContexts {
  'server:beforeCreate': { user: PanelUser; name: string; description?: string; node_id?: string; memory: number; disk: number; cpu: number };
  'server:onCreate': { server: PanelServer; user: PanelUser };
  'server:onDelete': { server: PanelServer; user: PanelUser };
  'server:onStatusChange': { server: PanelServer; action: 'start' | 'stop' | 'restart' | 'kill'; status: PanelServer['status']; user?: PanelUser };
  'server:resourceUsage': { server: PanelServer; usage: ResourceUsage };
  'auth:afterLogin': { user: PanelUser; ip: string };
  'auth:afterRegister': { user: PanelUser; ip: string };
  'route:register': { method: string; path: string };
  'ws:message': { user: PanelUser; message: Json };
  'db:afterSave': { collection: string; id: string; record: JsonObject };
  'sidebar:items': { items: Json[]; user: PanelUser };
  'admin:tabs': { tabs: Json[]; user: PanelUser };
}

/** A hook handler; async handlers are awaited before the next one runs. */
export type HookHandler<Context> = (ctx: Context & HookControl & { [added: string]: any }) => MaybePromise<void>;

export interface Hooks {
  /**
   * Subscribes to an event the manifest's `hooks` covers, or to a pattern
   * (`'*'`, `'server:*'`, `'*:before*'`); lower priority runs first (default
   * 10). False (and a warning in the plugin's log) when the manifest does
   * not cover it.
   */
  on<E extends string>(event: E, handler: HookHandler<E extends keyof HookContexts ? HookContexts[E] : {}>, priority?: number | { priority: number }): boolean;
}

// ---------------------------------------------------------------------------
// cron, config, logger, plugins, data, auth, events, meta

export interface Cron {
  /**
   * Five fields (`*`, `N`, `*\/N`, `A-B`, lists, names) or `@hourly` ... `@yearly`, UTC. A bad schedule throws.
   * The handler gets the minute its run is for (UTC, whole minute), the same whichever process runs it.
   */
  register(id: string, schedule: string, handler: (minute: Date) => MaybePromise<void>): void;
}

/** The plugin's settings: the manifest's declared ones (validated, defaulted) and free keys (any JSON, 64 KiB each). */
export interface Config {
  /** The stored value, else the declared default, else undefined. */
  get<T = any>(key: string): T | undefined;
  /** Stores a value at once; undefined removes the key. */
  set(key: string, value: unknown): void;
  /** The stored values and the declared defaults. */
  getAll(): { [key: string]: any };
}

export interface Logger {
  info(...values: unknown[]): void;
  warn(...values: unknown[]): void;
  error(...values: unknown[]): void;
  debug(...values: unknown[]): void;
}

export interface Plugins {
  /**
   * Calls a public method of another active plugin (what its default export
   * returned), arguments and result copied as JSON; needs the
   * `plugins:call` permission. Throws `Plugin "x" is not active` or
   * `Plugin "x" has no method "m"`.
   */
  call<T = any>(pluginId: string, method: string, ...args: unknown[]): T;
}

/** The panel's records, their secrets stripped; each kind needs its permission (`users:read`, `servers:read`, `nodes:read`). */
export interface Data {
  getUsers(): Promise<PanelUser[]>;
  findUser(id: string): Promise<PanelUser | null>;
  getServers(): PanelServer[];
  findServer(id: string): PanelServer | null;
  getNodes(): Promise<PanelNode[]>;
  findNode(id: string): Promise<PanelNode | null>;
}

/** Route middleware on `req.user`, answering 401/403 as Sodium's does. */
export interface Auth {
  requireUser: Handler;
  requireAdmin: Handler;
}

/** Events between plugins: delivered later to every active plugin's handlers, as JSON copies. */
export interface Events {
  on(event: string, handler: (data: any) => MaybePromise<void>): void;
  emit(event: string, data?: unknown): void;
}

export interface Meta {
  readonly id: string;
  readonly name: string;
  readonly version: string;
}

// ---------------------------------------------------------------------------
// ui (what the panel shows for the plugin, served by /api/plugins/client-data)

export interface Page {
  id?: string;
  path?: string;
  title?: string;
  icon?: string;
  [field: string]: any;
}

export interface SidebarItem {
  /** Made from `href` or `label` when missing ("/billing" -> "billing"). */
  id?: string;
  label: string;
  icon?: string;
  href?: string;
  path?: string;
  /** `before:<id>`, `after:<id>`, `top`, `bottom` or a number. */
  position?: string | number;
  [field: string]: any;
}

export interface ServerTab {
  id: string;
  label: string;
  [field: string]: any;
}

export interface DashboardWidget {
  id: string;
  title: string;
  size?: 'small' | 'medium' | 'large';
  [field: string]: any;
}

export interface AdminTab {
  id: string;
  label: string;
  subtabs?: string[];
  [field: string]: any;
}

export interface Ui {
  /** Seed 004's object keyed by path, or Sodium's array (each keyed by its path, else its id). */
  registerPages(pages: { [path: string]: Page } | Page[]): void;
  addPage(page: Page): void;
  addAdminPage(page: Page): void;
  addSidebarItem(item: SidebarItem): void;
  addServerTab(tab: ServerTab): void;
  addDashboardWidget(widget: DashboardWidget): void;
  addAdminTab(tab: AdminTab): void;
}

// ---------------------------------------------------------------------------
// the API object

/** What a plugin's default export gets. */
export interface Sodium {
  /** The plugin's id. */
  readonly id: string;
  readonly meta: Meta;
  readonly db: Db;
  readonly http: Http;
  readonly hooks: Hooks;
  readonly cron: Cron;
  readonly config: Config;
  readonly plugins: Plugins;
  readonly logger: Logger;
  readonly data: Data;
  readonly auth: Auth;
  readonly events: Events;
  readonly ui: Ui;
}

/** A plugin's server module: its default export, returning its public methods (for `plugins.call`). */
export type PluginMain = (sodium: Sodium) => MaybePromise<{ [method: string]: (...args: any[]) => unknown } | void>;
