/** The runtime contract on bun: the app on `@sse/hono`, and the one on `@sse/core/web` alone, each in a real bun process. */
import { describeRuntime } from './runtime-contract.ts'

describeRuntime('bun', 'hono')
describeRuntime('bun', 'web')
