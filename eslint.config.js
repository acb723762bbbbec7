// Lint rules, including the folder boundaries of the architecture: only electron/ imports
// `electron`; renderer/ has no Node; shared/ has no Node, DOM or electron; postal/ (another
// organisation's service) imports neither the data center nor the client. Folders point one
// way (eslint-plugin-boundaries, FOLDER_POLICIES below): app/ is the composition root, the only
// code that wires the client, the data center (server-mock/), the postal authority and bench/
// together; client/ imports none of them, nor does the data center import the client, nor bench/
// the client (app/ hands bench/ the client parts it drives).
import js from '@eslint/js';
import boundaries from 'eslint-plugin-boundaries';
import tseslint from 'typescript-eslint';
import globals from 'globals';
import reactHooks from 'eslint-plugin-react-hooks';

const nodeModules = [
  'node:*',
  'fs',
  'fs/*',
  'path',
  'os',
  'child_process',
  'crypto',
  'net',
  'tls',
  'http',
  'https',
  'stream',
  'util',
  'worker_threads',
  'better-sqlite3',
  'keytar',
  'undici',
  'pdfkit',
  'fastify',
];

const noElectron = { name: 'electron', message: 'Only electron/ may import electron.' };

/** The folders, as elements of the architecture (test/ and the root's config files are free). */
const FOLDERS = [
  'app',
  'client',
  'server-mock',
  'postal',
  'bench',
  'shared',
  'runtime',
  'electron',
  'renderer',
  'test',
];
const types = (...names) => ({ to: { element: { types: { anyOf: names } } } });
/** Which folder may not import which: the arrows of the architecture, checked one way. */
const FOLDER_POLICIES = [
  {
    from: { element: { type: 'client' } },
    disallow: types('app', 'server-mock', 'postal', 'bench', 'electron', 'renderer', 'test'),
    message:
      'client/ does not import the data center, the postal authority, bench/ or app/: the composition root (app/) hands them in.',
  },
  {
    from: { element: { type: 'server-mock' } },
    disallow: types('app', 'client', 'postal', 'bench', 'electron', 'renderer', 'test'),
    message: 'the data center does not import the client, app/ or bench/.',
  },
  {
    from: { element: { type: 'postal' } },
    disallow: types('app', 'client', 'server-mock', 'bench', 'electron', 'renderer', 'test'),
    message: 'postal/ is the postal authority: it may import only shared/ and runtime/.',
  },
  {
    from: { element: { type: 'bench' } },
    disallow: types('app', 'client', 'electron', 'renderer', 'test'),
    message:
      'bench/ measures the parts; app/ wires it in (vpm bench) and hands it the client parts it drives (bench/mailer-client.ts, app/bench-client.ts), not the other way.',
  },
  {
    from: { element: { types: { anyOf: ['shared', 'runtime'] } } },
    disallow: types(
      'app',
      'client',
      'server-mock',
      'postal',
      'bench',
      'electron',
      'renderer',
      'test',
    ),
    message: 'shared/ and runtime/ are the bottom layer: they import no other folder.',
  },
  {
    from: { element: { type: 'renderer' } },
    disallow: types(
      'app',
      'client',
      'server-mock',
      'postal',
      'bench',
      'electron',
      'runtime',
      'test',
    ),
    message: 'renderer/ reaches the rest only through window.vpm (shared/ipc).',
  },
  {
    from: { element: { types: { anyOf: ['app', 'electron'] } } },
    disallow: types('renderer', 'test'),
    message: 'app/ and electron/ do not import the renderer or tests.',
  },
];

export default tseslint.config(
  { ignores: ['node_modules/', 'out/', '.vite/', 'dist/', 'var/', 'test-results/', 'coverage/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    plugins: { boundaries },
    settings: {
      'import/resolver': { node: { extensions: ['.ts', '.tsx', '.mjs', '.js', '.json'] } },
      'boundaries/elements': FOLDERS.map((f) => ({
        type: f,
        pattern: `${f}/**`,
        partialMatch: false,
      })),
    },
    rules: {
      'boundaries/dependencies': ['error', { default: 'allow', policies: FOLDER_POLICIES }],
    },
  },
  {
    languageOptions: { globals: { ...globals.node } },
    rules: {
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_' },
      ],
      '@typescript-eslint/consistent-type-imports': 'error',
    },
  },
  {
    files: ['server-mock/**', 'client/**', 'runtime/**', 'test/**', 'bench/**'],
    rules: { 'no-restricted-imports': ['error', { paths: [noElectron] }] },
  },
  {
    files: ['server-mock/**'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: [noElectron],
          patterns: [
            {
              group: ['**/postal/index', '**/postal/*.ts', '../postal/**', '../../postal/**'],
              message: 'the data center talks to the postal authority over HTTPS only.',
            },
          ],
        },
      ],
    },
  },
  {
    files: ['postal/**'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: [noElectron],
          patterns: [
            {
              group: ['**/server-mock/**', '**/client/**', '**/electron/**', '**/renderer/**'],
              message: 'postal/ is the postal authority: it may import only shared/.',
            },
          ],
        },
      ],
    },
  },
  {
    files: ['renderer/**'],
    languageOptions: { globals: { ...globals.browser } },
    plugins: { 'react-hooks': reactHooks },
    rules: {
      ...reactHooks.configs.recommended.rules,
      'no-restricted-imports': [
        'error',
        {
          paths: [noElectron],
          patterns: [
            { group: nodeModules, message: 'renderer/ runs in the browser: no Node modules.' },
          ],
        },
      ],
    },
  },
  {
    files: ['shared/**'],
    languageOptions: { globals: { ...globals['shared-node-browser'] } },
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: [noElectron],
          patterns: [
            { group: nodeModules, message: 'shared/ is pure TypeScript: no Node modules.' },
            { group: ['react', 'react-dom', 'react/*'], message: 'shared/ has no DOM code.' },
          ],
        },
      ],
      'no-restricted-globals': [
        'error',
        'window',
        'document',
        'navigator',
        'localStorage',
        'process',
        'Buffer',
        'require',
        '__dirname',
      ],
    },
  },
);
