// ESLint flat config: typescript-eslint's type-checked rules; folder bans keep the dependency rule of DESIGN.md §1.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

const ioLibraries = ['mqtt', 'dockerode', 'ws', 'fastify', 'undici', 'node:fs', 'node:fs/promises', 'node:net', 'node:http', 'node:https', 'node:tls', 'node:child_process'];
// Adapters implement ports the domain declares; the domain may name their types but never holds their code.
const adapters = ['**/catalog/client/**', '**/catalog/server/**', '**/runtime/docker-*', '**/mtp/**', '**/store/**'];
const noIo = ioLibraries.map((name) => ({ name, message: 'usp/, engine/, datamodel/ and smm/ do no I/O (DESIGN.md §1): take a port instead.' }));

export default tseslint.config(
  { ignores: ['.scratch/**', 'dist/**', 'node_modules/**', 'src/usp/generated/**', 'scripts/**', 'bin/**', 'eslint.config.js'] },
  js.configs.recommended,
  ...tseslint.configs.strictTypeChecked,
  {
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/consistent-type-imports': 'error',
      // Late-bound collaborators (built after the data model they serve) are read in closures before assignment.
      'prefer-const': ['error', { ignoreReadBeforeAssign: true }],
      '@typescript-eslint/switch-exhaustiveness-check': 'error',
      '@typescript-eslint/restrict-template-expressions': ['error', { allowNumber: true, allowBoolean: true }],
      '@typescript-eslint/no-floating-promises': ['error', { allowForKnownSafeCalls: [{ from: 'package', package: 'node:test', name: ['test', 'it', 'describe', 'suite'] }] }],
      '@typescript-eslint/no-unnecessary-condition': 'off',
      '@typescript-eslint/no-non-null-assertion': 'off',
      '@typescript-eslint/no-extraneous-class': 'off',
    },
  },
  {
    files: ['src/usp/**', 'src/engine/**', 'src/datamodel/**', 'src/smm/**', 'datamodel/**'],
    rules: {
      'no-restricted-imports': ['error', {
        paths: noIo,
        patterns: [{ group: adapters, allowTypeImports: true, message: 'usp/, engine/, datamodel/ and smm/ import no adapter code (DESIGN.md §1): declare a port and let src/app.ts pass the adapter in; types are fine.' }],
      }],
      // The global fetch is I/O too (and loads undici): take a port, as VendorLogFile.Upload() takes Upload.
      'no-restricted-globals': ['error', { name: 'fetch', message: 'usp/, engine/, datamodel/ and smm/ do no I/O (DESIGN.md §1): take a port instead.' }],
    },
  },
  {
    files: ['test/**'],
    rules: {
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
    },
  },
);
