/**
 * Bun: `bun apps/entry-bun.ts hono|web`. Imports the packages as an app would, through
 * node_modules (so `@sse/*` resolve to their built dist), listens on 127.0.0.1, port 0, and prints
 * one JSON line with the URL. `idleTimeout: 0`: Bun closes a connection idle for 10 s by default.
 */
import { AppState } from './app-state.ts'
import { buildHonoApp } from './hono-app.ts'
import { buildWebHandler } from './web-app.ts'

const kind = Bun.argv[2] === 'web' ? 'web' : 'hono'
const state = new AppState(`bun ${Bun.version}`, {
  '@sse/core': import.meta.resolve('@sse/core'),
  '@sse/core/web': import.meta.resolve('@sse/core/web'),
  '@sse/hono': import.meta.resolve('@sse/hono'),
})
const fetch = kind === 'web' ? buildWebHandler(state) : buildHonoApp(state).fetch
const server = Bun.serve({ hostname: '127.0.0.1', port: 0, idleTimeout: 0, fetch })
console.log(JSON.stringify({ url: `http://127.0.0.1:${server.port}` }))
