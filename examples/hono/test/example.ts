import type { ExampleUnderTest } from '@sse/example-shared/testing'
import { startServer } from '../src/app.ts'

export const example: ExampleUnderTest = { framework: 'Hono', start: startServer, http2: true }
