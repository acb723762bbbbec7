import { defineConfig } from 'vite';

// The main process bundle; native modules stay external and are loaded from node_modules.
export default defineConfig({
  build: { rollupOptions: { external: ['better-sqlite3', 'keytar', 'electron'] } },
});
