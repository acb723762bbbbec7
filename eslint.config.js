// Lint rules, including the folder boundaries of the architecture: only electron/ imports
// `electron`; renderer/ has no Node; shared/ has no Node, DOM or electron; postal/ (another
// organisation's service) imports neither the data center nor the client.
import js from '@eslint/js';
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

export default tseslint.config(
  { ignores: ['node_modules/', 'out/', '.vite/', 'dist/', 'var/', 'test-results/', 'coverage/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
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
