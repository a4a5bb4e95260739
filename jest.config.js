/**
 * Three projects:
 * - marbles: operator and source timing under RxJS TestScheduler (virtual time, no Redis)
 * - unit: pure parts (config parsing, reply parsers, key builders, error mapping)
 * - integration: real redis-server processes spawned by test/support/globalSetup.ts
 *   (one standalone server and one 3-master/3-replica Cluster per run, or REDIS_URL /
 *   REDIS_CLUSTER_NODES when set)
 */
const tsJest = [
  'ts-jest',
  { tsconfig: '<rootDir>/tsconfig.json', isolatedModules: false, diagnostics: { warnOnly: false } },
];

/** @type {import('jest').Config} */
module.exports = {
  projects: [
    {
      displayName: 'marbles',
      testEnvironment: 'node',
      transform: { '^.+\\.ts$': tsJest },
      testMatch: ['<rootDir>/marbles/**/*.marbles.spec.ts'],
    },
    {
      displayName: 'unit',
      testEnvironment: 'node',
      transform: { '^.+\\.ts$': tsJest },
      testMatch: ['<rootDir>/test/unit/**/*.spec.ts'],
    },
    {
      displayName: 'integration',
      testEnvironment: 'node',
      transform: { '^.+\\.ts$': tsJest },
      testMatch: ['<rootDir>/test/integration/**/*.int.spec.ts'],
      globalSetup: '<rootDir>/test/support/globalSetup.ts',
      globalTeardown: '<rootDir>/test/support/globalTeardown.ts',
      slowTestThreshold: 20,
    },
  ],
  testTimeout: 30000,
};
