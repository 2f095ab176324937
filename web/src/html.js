// html.js: htm bound to preact's h, the JSX of this app without a compiler.
import { h } from 'preact';
import htm from 'htm';
export const html = htm.bind(h);
