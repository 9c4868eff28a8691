import { sharedConfig } from '../../vitest.shared.ts'

// Each file starts real processes (redis-server, three instances, nginx): one file at a time, and
// the example is built first so the instances run the current source.
export default sharedConfig({
  test: { fileParallelism: false, globalSetup: ['./test/global-setup.ts'] },
})
