/** Two projects: `unit` needs nothing running; `integration` talks to the real stack (infra/stack.sh up). */
const transform = { '^.+\\.ts$': ['@swc/jest', { jsc: { target: 'es2022' }, module: { type: 'commonjs' } }] };
const common = {
  testEnvironment: '<rootDir>/test/support/node-environment.js',
  transform,
  moduleFileExtensions: ['ts', 'js', 'json'],
};
module.exports = {
  testSequencer: '<rootDir>/test/support/sequencer.js',
  projects: [
    {
      ...common,
      displayName: 'unit',
      setupFilesAfterEnv: ['<rootDir>/test/support/unit-timeout.ts'],
      testMatch: ['<rootDir>/**/*.test.ts'],
      testPathIgnorePatterns: ['/node_modules/', '/dist/', '\\.int\\.test\\.ts$', '/.venv/', '/.fti/'],
    },
    {
      ...common,
      displayName: 'integration',
      testMatch: ['<rootDir>/**/*.int.test.ts'],
      testPathIgnorePatterns: ['/node_modules/', '/dist/', '/.venv/', '/.fti/'],
      setupFiles: ['<rootDir>/test/support/integration-env.ts'],
      setupFilesAfterEnv: ['<rootDir>/test/support/integration-timeout.ts'],
    },
  ],
};
