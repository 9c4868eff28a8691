import { sharedConfig } from '../../vitest.shared.ts'

// The tarball checks install from the registry once, into one shared project (see test/tarballs.test.ts).
export default sharedConfig({ test: { testTimeout: 120_000, hookTimeout: 300_000 } })
