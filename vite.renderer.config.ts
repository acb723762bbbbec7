import { defineConfig } from 'vite';
import react from '@vitejs/plugin-react';

// The renderer: a React app served from renderer/ (index.html carries the strict CSP).
export default defineConfig({
  root: 'renderer',
  plugins: [react()],
  build: { outDir: '../.vite/renderer/main_window', emptyOutDir: true },
});
