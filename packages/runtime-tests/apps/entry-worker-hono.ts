/** A Workers module on `@sse/hono`: `export default app`. Bundled (rolldown) into one ESM file for workerd. */
import type { Hono } from 'hono'
import { AppState } from './app-state.ts'
import { buildHonoApp } from './hono-app.ts'

const app: Hono = buildHonoApp(new AppState('workerd', { bundle: 'rolldown' }))
export default app
