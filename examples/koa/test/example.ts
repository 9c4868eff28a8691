import type { ExampleUnderTest } from '@sse/example-shared/testing'
import { startServer } from '../src/app.ts'

export const example: ExampleUnderTest = { framework: 'Koa', start: startServer, http2: true }
