/** The runtime contract on workerd, in its Workers form: the app on `@sse/hono`, and the one on `@sse/core/web` alone. */
import { describeRuntime } from './runtime-contract.ts'

describeRuntime('workerd', 'hono', { workers: true })
describeRuntime('workerd', 'web', { workers: true })
