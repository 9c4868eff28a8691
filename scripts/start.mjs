// `npm start` (after the workspace is installed and built): serves the live demo, examples/express
// on the embedded in-memory hub, and prints its URL. PORT picks the port (default 3000).
// The example runs in this process, so Ctrl+C and SIGTERM reach its graceful shutdown directly.
import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

const entry = new URL('../examples/express/dist/server.mjs', import.meta.url)
if (!existsSync(fileURLToPath(entry))) {
  console.error('examples/express is not built: run `npm start` (it builds first) or `npm run build`.')
  process.exit(1)
}
await import(entry.href)
