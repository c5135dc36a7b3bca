import js from '@eslint/js';
import tseslint from 'typescript-eslint';

// Layering (README, STYLE.md): quantity ← api ← core ← state ← (tracker, consistency, webhook,
// enforcement, reporting) ← main/cli; ops (config, TLS, logger) sits beside api for the loops to use.
// Each room lists what it may import; every other room of src/ is refused. `npm run lint` also fails
// on any import circle (scripts/check-cycles.ts), type-only imports included.
const ROOMS = ['quantity', 'api', 'core', 'state', 'ops', 'tracker', 'consistency', 'webhook', 'enforcement', 'reporting', 'cli'];
const MAY_IMPORT = {
  quantity: [],
  api: ['quantity'],
  core: ['api', 'quantity'],
  state: ['core', 'api', 'quantity'],
  // ops validates settings with the pure rules they feed (leader-election timings).
  ops: ['core', 'api', 'quantity'],
  tracker: ['state', 'core', 'api', 'quantity', 'ops'],
  consistency: ['state', 'core', 'api', 'quantity', 'ops'],
  webhook: ['consistency', 'state', 'core', 'api', 'quantity', 'ops'],
  enforcement: ['consistency', 'state', 'core', 'api', 'quantity', 'ops'],
  reporting: ['state', 'core', 'api', 'quantity', 'ops'],
};
// Pure rooms do no IO and hold no framework: only the language and each other.
const PURE = ['quantity', 'api', 'core'];
const FRAMEWORKS = ['node:*', 'pino', 'express', '@kubernetes/*', 'lru-cache', 'node-forge'];

const layer = (room) => {
  const refused = ROOMS.filter((other) => other !== room && !MAY_IMPORT[room].includes(other));
  const groups = [...refused.map((other) => `**/${other}/**`), '**/main.js', ...(PURE.includes(room) ? FRAMEWORKS : [])];
  return {
    files: [`src/${room}/**`],
    rules: {
      'no-restricted-imports': ['error', { patterns: [{ group: groups, message: `layering: src/${room} may import only ${MAY_IMPORT[room].join(', ') || 'nothing of src'} (eslint.config.js)` }] }],
    },
  };
};

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
  ...Object.keys(MAY_IMPORT).map(layer),
  { files: ['**/*.js'], ...tseslint.configs.disableTypeChecked },
  {
    files: ['test/**', 'scripts/**', 'bench/**'],
    rules: { complexity: 'off', 'max-params': 'off' },
  },
);
