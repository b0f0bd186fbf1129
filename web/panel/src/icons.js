// The sidebar's icons: small inline SVGs (no icon font, nothing fetched).
import { html } from './html.js';

const paths = {
  home: 'M3 11l9-8 9 8v10a1 1 0 0 1-1 1h-5v-7H9v7H4a1 1 0 0 1-1-1z',
  server: 'M4 4h16v6H4zM4 14h16v6H4zM8 7h.01M8 17h.01',
  user: 'M12 12a4 4 0 1 0 0-8 4 4 0 0 0 0 8zM4 21a8 8 0 0 1 16 0',
  users: 'M9 11a4 4 0 1 0 0-8 4 4 0 0 0 0 8zM2 21a7 7 0 0 1 14 0M17 11a3 3 0 1 0 0-6M22 21a6 6 0 0 0-5-5.9',
  gauge: 'M12 14l4-4M3 14a9 9 0 1 1 18 0',
  node: 'M5 3h14v8H5zM5 13h14v8H5zM9 7h6M9 17h6',
  plug: 'M9 2v6M15 2v6M6 8h12v4a6 6 0 0 1-12 0zM12 18v4',
  list: 'M8 6h13M8 12h13M8 18h13M3 6h.01M3 12h.01M3 18h.01',
  menu: 'M3 6h18M3 12h18M3 18h18',
  store: 'M4 7h16l-1 13H5zM8 7a4 4 0 0 1 8 0',
  'credit-card': 'M3 6h18v12H3zM3 10h18M7 15h3',
  'chart-bar': 'M4 20V10M10 20V4M16 20v-7M22 20H2',
  activity: 'M3 12h4l3-8 4 16 3-8h4',
  message: 'M4 4h16v12H8l-4 4z',
  puzzle: 'M10 3h4v3a2 2 0 1 0 4 0V3h3v7h-3a2 2 0 1 0 0 4h3v7h-7v-3a2 2 0 1 0-4 0v3H3v-7h3a2 2 0 1 0 0-4H3V3z',
};

export function Icon({ name }) {
  return html`<svg class="icon" viewBox="0 0 24 24" aria-hidden="true" focusable="false"><path d=${paths[name] || paths.puzzle} /></svg>`;
}
