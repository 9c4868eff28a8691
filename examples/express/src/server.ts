/** `node dist/server.mjs`: the Express example on `PORT` (default 3000), what `npm start` serves. */
import { runExample } from '@sse/example-shared'
import { startServer } from './app.ts'

await runExample({ framework: 'Express', http2: false, start: startServer })
