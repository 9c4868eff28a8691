// Shared vitest settings for every workspace package (each runs its own `vitest run`).
// Workspace packages resolve to their TypeScript source through the `@sse/source` export
// condition, so tests never run against a stale dist. Every run writes vitest's JSON report to
// `test-results.json`; `.ci/run` sums those into its final `N passed, N failed` line.
import { defineConfig, mergeConfig, type ViteUserConfig } from 'vitest/config'

export function sharedConfig(overrides: ViteUserConfig = {}): ViteUserConfig {
  return mergeConfig(
    defineConfig({
      resolve: { conditions: ['@sse/source'] },
      ssr: { resolve: { conditions: ['@sse/source'] } },
      test: {
        reporters: ['default', ['json', { outputFile: 'test-results.json' }]],
        testTimeout: 30_000,
        hookTimeout: 30_000,
        typecheck: { enabled: true, include: ['**/*.test-d.ts'], tsconfig: './tsconfig.json' },
      },
    }),
    overrides,
  )
}
