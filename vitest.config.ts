import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['packages/**/src/**/*.test.ts', 'test/**/*.test.ts'],
    testTimeout: 180_000,
    hookTimeout: 60_000,
    // end-to-end tests spawn CLI processes and worker threads; keep the 2-core machine sane
    maxWorkers: 2,
    // fails the run when any CLI process of the suite said "this is a bug" (issue 14, item 5)
    globalSetup: ['test/helpers/global-setup.ts'],
  },
});
