/** The runtime contract on node: the app on `@sse/hono`, and the one on `@sse/core/web` alone, each in a real node process. */
import { describeRuntime } from './runtime-contract.ts'

describeRuntime('node', 'hono')
describeRuntime('node', 'web')
