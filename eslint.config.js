// Lint of `npm test` (npm run lint): typescript-eslint's type-checked recommended rules. Formatting is
// Prettier's (.prettierrc), checked on its own by `npm run format:check`.
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['node_modules/', 'dist/', 'build/', 'reports/', 'backups/', '**/*.js', '**/*.cjs'] },
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      // An interface method that returns a promise is written `async` even when it awaits nothing, so a throw
      // in it (a bad option, a wrong recovery point) reaches the caller as a rejection, like every other error.
      '@typescript-eslint/require-await': 'off',
      // A leading underscore marks a value left unused on purpose (a destructured field dropped from a copy).
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrorsIgnorePattern: '^_', ignoreRestSiblings: true },
      ],
    },
  },
  {
    // Tests read reports, statements and CLI output back with JSON.parse and assert on their fields; typing
    // every parsed document would add casts, not safety (a wrong field fails the assertion anyway).
    // Drill files are Vitest specs too: their `db.query` rows are pg's untyped rows, checked by `expect`.
    files: ['**/*.test.ts', '**/*.testkit.ts', 'src/testing/**/*.ts', 'fixtures/**/*.ts', 'drills/**/*.ts'],
    rules: {
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
    },
  },
);
