// eslint.config.mjs: ESLint 9 flat config, run by `npm run lint` (scripts/lint.js).
// TypeScript (lib/, bench/, test/) gets typescript-eslint's recommended rules;
// they work from the syntax alone, so linting needs no type-check pass (that is
// `npm run typecheck`). The CommonJS scripts (scripts/, bin/) get ESLint's own
// recommended rules. Formatting is Prettier's job, not ESLint's: no style rules here.
import js from '@eslint/js';
import globals from 'globals';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  {
    ignores: ['dist/', 'build*/', 'prebuilds/', 'node_modules/', 'test/fixtures/', 'test/fuzz/corpus/', '.bench-cache/', 'bench/results/', '.fuzz-findings/', 'gpu-check-logs/'],
  },
  {
    // A disable comment that no longer suppresses anything is an error, so none outlive their reason.
    linterOptions: { reportUnusedDisableDirectives: 'error' },
  },
  {
    files: ['**/*.ts'],
    extends: [js.configs.recommended, ...tseslint.configs.recommended],
    languageOptions: { globals: globals.node },
    rules: {
      // `_`-prefixed names are unused on purpose (a callback's leading parameters, a destructured rest).
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrorsIgnorePattern: '^_', ignoreRestSiblings: true }],
    },
  },
  {
    files: ['scripts/**/*.js', 'bin/**/*.js', '*.js', '*.cjs'],
    extends: [js.configs.recommended],
    languageOptions: { sourceType: 'commonjs', globals: globals.node },
    rules: {
      'no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrorsIgnorePattern: '^_', ignoreRestSiblings: true }],
    },
  },
  {
    files: ['*.mjs'],
    extends: [js.configs.recommended],
    languageOptions: { sourceType: 'module', globals: globals.node },
  },
);
