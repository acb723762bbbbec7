/**
 * @module renderer/main
 * Entry of the renderer: mounts the app. The renderer talks to nothing but `window.vpm`.
 */
import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { App } from './app';
// styles.css is linked from index.html: a stylesheet file, never an injected <style> (strict CSP).

const root = document.getElementById('root');
if (root === null) throw new Error('renderer: #root is missing from index.html');
createRoot(root).render(
  <StrictMode>
    <App />
  </StrictMode>,
);
