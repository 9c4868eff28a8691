/** `node dist/server.mjs`: the Hono example on `PORT` (default 3000); `HTTPS=1` for HTTPS with HTTP/2. */
import { runExample } from '@sse/example-shared'
import { startServer } from './app.ts'

await runExample({ framework: 'Hono', http2: true, start: startServer })
