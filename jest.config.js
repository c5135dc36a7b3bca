// Two projects: `unit` (pure, fast, in-process) and `e2e` (one real kube-apiserver + etcd per run,
// started by the global setup). `npm test` runs both; `--selectProjects` picks one.
const swc = [
  '@swc/jest',
  { jsc: { parser: { syntax: 'typescript' }, target: 'es2022' }, module: { type: 'es6' } },
];
const common = {
  extensionsToTreatAsEsm: ['.ts'],
  transform: { '^.+\\.ts$': swc },
  // Sources import siblings as `./x.js` (NodeNext); jest resolves them to the `.ts` file.
  moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1' },
  testEnvironment: 'node',
  // .cache holds control-plane binaries and the benchmarks' etcd data (whose `.snap` files jest would
  // otherwise report as obsolete snapshots); nothing there is a test or a module to resolve.
  modulePathIgnorePatterns: ['<rootDir>/.cache/', '<rootDir>/dist/'],
};

export default {
  projects: [
    { ...common, displayName: 'unit', testMatch: ['<rootDir>/test/unit/**/*.test.ts'] },
    {
      ...common,
      displayName: 'e2e',
      testMatch: ['<rootDir>/test/e2e/**/*.test.ts'],
      globalSetup: '<rootDir>/test/e2e/global-setup.ts',
      globalTeardown: '<rootDir>/test/e2e/global-teardown.ts',
      // Each e2e step runs kubectl (a process start) against a real API server on a 2-core machine
      // shared with the other test files; jest's 5 s default is about one slow step.
      testTimeout: 60_000,
    },
  ],
};
