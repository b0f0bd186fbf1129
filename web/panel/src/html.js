// htm bound to Preact: html`<div class=${x}>...</div>` instead of JSX (no compile step for templates).
import { h } from 'preact';
import htm from 'htm';

export const html = htm.bind(h);
