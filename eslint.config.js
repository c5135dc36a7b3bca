import js from '@eslint/js';
import tseslint from 'typescript-eslint';

// Layering (STYLE.md): quantity <- core <- (tracker, webhook, enforcement, reporting) <- main/cli.
const layer = (files, forbidden) => ({
  files,
  rules: {
    'no-restricted-imports': [
      'error',
      { patterns: forbidden.map((group) => ({ group: [group], message: 'layering: see STYLE.md' })) },
    ],
  },
});

export default tseslint.config(
  { ignores: ['dist/', 'node_modules/', '.cache/', 'coverage/', 'test/controlplane/'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: { allowDefaultProject: ['*.js'] }, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      complexity: ['error', 10],
      'max-depth': ['error', 3],
      'max-params': ['error', 4],
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', ignoreRestSiblings: true }],
    },
  },
  layer(['src/quantity/**'], ['**/api/**', '**/core/**', '**/tracker/**', '**/webhook/**', '**/ops/**', '**/cli/**', 'node:*']),
  layer(['src/api/**'], ['**/core/**', '**/tracker/**', '**/webhook/**', '**/ops/**', '**/cli/**', 'node:*']),
  layer(['src/core/**'], ['**/tracker/**', '**/webhook/**', '**/ops/**', '**/cli/**', '**/enforcement/**', '**/reporting/**', 'node:*', 'pino', 'express', '@kubernetes/*']),
  { files: ['**/*.js'], ...tseslint.configs.disableTypeChecked },
  {
    files: ['test/**', 'scripts/**', 'bench/**'],
    rules: { complexity: 'off', 'max-params': 'off' },
  },
);
