/**
 * The Hono example in real Chromium: open and ticking, a notification from one page on another,
 * replay after a restart, sse-reset, Unicode.
 */
import { describeExampleInBrowser } from '@sse/example-shared/testing'
import { example } from './example.ts'

describeExampleInBrowser(example)
