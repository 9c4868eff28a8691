/** `node dist/server.mjs`: the Koa example on `PORT` (default 3000); `HTTPS=1` for HTTPS with HTTP/2. */
import { runExample } from '@sse/example-shared'
import { startServer } from './app.ts'

await runExample({ framework: 'Koa', http2: true, start: startServer })
