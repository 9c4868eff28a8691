/**
 * The Express example in real Chromium (the page `npm start` serves): open and ticking, a
 * notification from one page on another, replay after a restart, sse-reset, Unicode, and the
 * screenshot the root README shows (`UPDATE_SCREENSHOT=1 pnpm --filter @sse/example-express test`).
 */
import { fileURLToPath } from 'node:url'
import { describeExampleInBrowser } from '@sse/example-shared/testing'
import { example } from './example.ts'

describeExampleInBrowser({
  ...example,
  screenshot: fileURLToPath(new URL('../../../docs/screenshot.png', import.meta.url)),
})
