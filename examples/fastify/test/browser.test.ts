/**
 * The Fastify example in real Chromium: open and ticking, a notification from one page on
 * another, replay after a restart, sse-reset, Unicode, and 8 pages of one origin over HTTP/2.
 */
import { describeExampleInBrowser } from '@sse/example-shared/testing'
import { example } from './example.ts'

describeExampleInBrowser({ ...example, manyPagesOverHttp2: true })
