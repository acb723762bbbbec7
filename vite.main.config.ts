import { defineConfig } from 'vite';

// The main process bundle; native modules stay external and are loaded from node_modules.
// The bundle is CommonJS, where `import.meta` does not exist: import.meta.url (used by pdfkit and
// our own modules to find files and create `require`) is this file's URL.
export default defineConfig({
  build: { rollupOptions: { external: ['better-sqlite3', 'keytar', 'electron'] } },
  define: { 'import.meta.url': 'require("node:url").pathToFileURL(__filename).href' },
});
