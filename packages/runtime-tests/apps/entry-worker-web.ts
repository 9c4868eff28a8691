/** A Workers module on `@sse/core/web` alone: `export default { fetch }`. Bundled (rolldown) into one ESM file for workerd. */
import { AppState } from './app-state.ts'
import { buildWebHandler } from './web-app.ts'

const worker: { fetch: (request: Request) => Promise<Response> } = {
  fetch: buildWebHandler(new AppState('workerd', { bundle: 'rolldown' })),
}
export default worker
