/** The runtime contract on deno: the app on `@sse/hono`, and the one on `@sse/core/web` alone, each in a real deno process. */
import { describeRuntime } from './runtime-contract.ts'

describeRuntime('deno', 'hono')
describeRuntime('deno', 'web')
