import { sharedConfig } from '../../vitest.shared.ts'

// Each file starts real runtime processes (bun, deno, workerd, node) and drives them over sockets.
export default sharedConfig({ test: { testTimeout: 60_000, hookTimeout: 120_000 } })
