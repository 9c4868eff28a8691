/**
 * Deno: `deno run --allow-net --allow-read --allow-env apps/entry-deno.ts hono|web`. Imports the
 * packages through node_modules (Deno reads this package's package.json), so `@sse/*` resolve to
 * their built dist; listens on 127.0.0.1, port 0, and prints one JSON line with the URL.
 */
import { AppState } from './app-state.ts'
import { buildHonoApp } from './hono-app.ts'
import { buildWebHandler } from './web-app.ts'

const kind = Deno.args[0] === 'web' ? 'web' : 'hono'
const state = new AppState(`deno ${Deno.version.deno}`, {
  '@sse/core': import.meta.resolve('@sse/core'),
  '@sse/core/web': import.meta.resolve('@sse/core/web'),
  '@sse/hono': import.meta.resolve('@sse/hono'),
})
const fetch = kind === 'web' ? buildWebHandler(state) : buildHonoApp(state).fetch
Deno.serve(
  {
    hostname: '127.0.0.1',
    port: 0,
    onListen: ({ port }) => console.log(JSON.stringify({ url: `http://127.0.0.1:${port}` })),
  },
  fetch,
)
