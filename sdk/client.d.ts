// The client API of a patchbay plugin: what `client.js` gets as `sodium`
// from its default export, in the sandboxed frame the panel runs it in
// (docs/plugin-ui.md). Both styles: Sodium's (onRender* over surfaces
// server.js declared, api()) and seed 004's (sodium.ui.* registered here).
// Needs the DOM's types ("lib": ["ES2022", "DOM"]).
//
//   /** @param {import('@patchbay/sdk/client').SodiumClient} sodium */
//   export default function (sodium) { ... }

/** What a render may give back: HTML, a DOM node, nothing (it filled the container), or a promise of one. */
export type Rendered = string | Node | void | null | undefined;
export type RenderResult = Rendered | Promise<Rendered>;

export interface ClientPlugin {
  readonly id: string;
  readonly name: string;
  readonly version: string;
}

export interface ApiOptions {
  method?: 'GET' | 'HEAD' | 'POST' | 'PUT' | 'PATCH' | 'DELETE' | (string & {});
  headers?: Record<string, string> | Headers | Array<[string, string]>;
  /** A string (JSON when no Content-Type is given), form parameters, bytes or a Blob. */
  body?: string | URLSearchParams | ArrayBuffer | ArrayBufferView | Blob | null;
}

/** A page at `path` (seed 004's registerPages). */
export interface PageRegistration {
  title?: string;
  icon?: string;
  render: (container: HTMLElement) => RenderResult;
}

/** Where a sidebar item goes among the panel's ("dashboard", "servers", "profile") and other plugins'. */
export type SidebarPosition = 'top' | 'bottom' | `before:${string}` | `after:${string}` | number;

export interface SidebarItem {
  id?: string;
  label: string;
  icon?: string;
  href: string;
  /** Evaluated in the plugin's frame, at most every 30 s and on its events; a number shows (99+ above 99). */
  badge?: () => number | null | undefined | Promise<number | null | undefined>;
  position?: SidebarPosition;
}

export interface ServerTab {
  id: string;
  label: string;
  render: (serverId: string, container: HTMLElement) => RenderResult;
}

export interface DashboardWidget {
  id: string;
  title: string;
  size?: 'small' | 'medium' | 'large';
  render: (container: HTMLElement) => RenderResult;
}

export interface AdminTab {
  id: string;
  label: string;
  subtabs?: string[];
  render: (container: HTMLElement, subtab: string | undefined) => RenderResult;
}

export interface ClientUi {
  // Sodium's: surfaces server.js declared (ui.addPage, addDashboardWidget, addServerTab, addAdminPage), rendered here.
  onRenderPage(id: string, render: (container: HTMLElement) => RenderResult): void;
  onRenderWidget(id: string, render: (container: HTMLElement) => RenderResult): void;
  onRenderServerTab(id: string, render: (container: HTMLElement, serverId: string) => RenderResult): void;
  onRenderAdminPage(id: string, render: (container: HTMLElement) => RenderResult): void;
  // Seed 004's: declared and rendered here.
  registerPages(pages: Record<string, PageRegistration> | Array<PageRegistration & { path: string }>): void;
  addSidebarItem(item: SidebarItem): void;
  addServerTab(tab: ServerTab): void;
  addDashboardWidget(widget: DashboardWidget): void;
  addAdminTab(tab: AdminTab): void;
}

export interface ModalOptions {
  title?: string;
  message?: string;
  confirmText?: string;
  cancelText?: string;
  danger?: boolean;
}

export interface SodiumClient {
  readonly plugin: ClientPlugin;
  /** A fetch Response from the plugin's own route /api/plugins/<id><path>, made by the panel with the session. */
  api(path: string, options?: ApiOptions): Promise<Response>;
  readonly ui: ClientUi;
  /** The plugin's own events between its frames, and the panel's page.rendered, serverTab.rendered, adminPage.rendered. */
  readonly events: {
    on(event: string, handler: (data: any) => void): void;
    off(event: string, handler: (data: any) => void): void;
    emit(event: string, data?: unknown): void;
  };
  navigate(path: string): void;
  readonly toast: { success(message: string): void; error(message: string): void; info(message: string): void };
  readonly modal: { show(options: ModalOptions | string): Promise<boolean>; confirm(options: ModalOptions | string): Promise<boolean> };
  escapeHtml(text: unknown): string;
}
