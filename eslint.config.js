// ESLint 9 flat config (`pnpm run lint`): @eslint/js and typescript-eslint recommended on every
// TypeScript file. Formatting is prettier's job (.prettierrc.json, `pnpm run format`), not the
// linter's.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['**/dist/**', '**/node_modules/**', 'native-bench/results/**', '.stowage-demo/**', '**/*.js', '**/*.mjs', '**/*.cjs'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      // `_name`: deliberately unused (a held lock `await using _lock`, a callback's unused argument)
      // terminal escapes are matched on purpose (cli/src/escape.ts and the tests of it)
      'no-control-regex': 'off',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrorsIgnorePattern: '^_', destructuredArrayIgnorePattern: '^_' }],
    },
  },
  {
    // type-aware, on the published sources only (cheap enough there): a promise nobody awaits
    // or handles is how errors get lost and writes outlive their operation
    files: ['packages/*/src/**/*.ts'],
    ignores: ['**/*.test.ts', 'packages/core/src/testing/**', 'packages/core/src/backend/faulty.ts'],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': ['error', { checksVoidReturn: { arguments: false } }],
      // a promise returned un-awaited from inside try/finally or an `await using` scope settles
      // after the cleanup ran (a lock released while its operation still runs)
      '@typescript-eslint/return-await': ['error', 'in-try-catch'],
    },
  },
);
