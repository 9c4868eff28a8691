import type { ExampleUnderTest } from '@sse/example-shared/testing'
import { startServer } from '../src/app.ts'

export const example: ExampleUnderTest = { framework: 'Express', start: startServer, http2: false }
