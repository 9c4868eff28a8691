/**
 * Node, the reference row: `node entry-node.mjs hono|web` after bundling (Node 20 runs no
 * TypeScript). `@hono/node-server` serves either app on 127.0.0.1, port 0, and one JSON line
 * gives the URL.
 */
import { serve } from '@hono/node-server'
import { AppState } from './app-state.ts'
import { buildHonoApp } from './hono-app.ts'
import { buildWebHandler } from './web-app.ts'

const kind = process.argv[2] === 'web' ? 'web' : 'hono'
const state = new AppState(`node ${process.version}`, { bundle: 'rolldown' })
const fetch = kind === 'web' ? buildWebHandler(state) : buildHonoApp(state).fetch
serve({ fetch, hostname: '127.0.0.1', port: 0 }, ({ port }) => {
  console.log(JSON.stringify({ url: `http://127.0.0.1:${port}` }))
})
