import { sharedConfig } from '../../vitest.shared.ts'

// One test file at a time: the browser suite and the process tests are the heaviest of the
// workspace, and `npm test` runs every package's tests at once on a small machine.
export default sharedConfig({ test: { fileParallelism: false } })
