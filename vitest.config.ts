import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    exclude: ['dist/**', 'node_modules/**'],
    testTimeout: 30_000,
    // Integration tests spawn the built CLI and real servers; two cores.
    maxWorkers: 2,
  },
});
