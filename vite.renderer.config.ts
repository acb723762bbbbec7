import { defineConfig } from 'vite';
import react from '@vitejs/plugin-react';

// The renderer: a React app served from renderer/ (index.html carries the strict CSP).
// The React plugin is used for builds only: in the dev server its Fast Refresh preamble is an
// inline script, which the strict CSP (script-src 'self') rightly blocks. Dev reloads instead;
// esbuild still compiles the JSX (tsconfig "jsx": "react-jsx").
export default defineConfig(({ command }) => ({
  root: 'renderer',
  plugins: command === 'build' ? [react()] : [],
  build: { outDir: '../.vite/renderer/main_window', emptyOutDir: true },
}));
