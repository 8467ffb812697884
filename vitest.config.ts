import { defineConfig } from "vitest/config";

// The suites run against a live local stack (see tests/support/stack.ts); `npm test` starts a
// throwaway one and passes its URLs and keys in the environment.
export default defineConfig({
  test: {
    include: ["tests/**/*.test.ts"],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Files share one database and its one assignment queue (assign_chat_to_operator takes the
    // oldest waiting chat of all), and one fake Paystack: run them one after another.
    fileParallelism: false,
  },
});
