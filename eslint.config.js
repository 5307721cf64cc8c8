// Lint of `npm test` (npm run lint): typescript-eslint's type-checked recommended rules. Formatting is
// Prettier's (.prettierrc), checked on its own by `npm run format:check`.
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['node_modules/', 'dist/', 'build/', 'reports/', 'backups/', '**/*.js', '**/*.cjs'] },
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
  },
);
