/**
 * The Fastify example's HTTP contract on a real socket (the suite every example runs), and the
 * built `dist/server.mjs` as `npm start` runs it: SIGTERM with clients connected, HTTPS=1.
 */
import { fileURLToPath } from 'node:url'
import { describeExampleProcess, describeExampleRoutes } from '@sse/example-shared/testing'
import { example } from './example.ts'

describeExampleRoutes(example)
describeExampleProcess(example, fileURLToPath(new URL('../dist/server.mjs', import.meta.url)))
