/**
 * The app on `@sse/core/web` alone, no framework: the routes of `app-state.ts` as one
 * `fetch(request)` handler, what a Bun, Deno or Workers user without Hono writes.
 */
import { createHub, decideHubRoute } from '@sse/core'
import { createSseResponse } from '@sse/core/web'
import { type AppState, produce, produceThroughHub, sendFraming } from './app-state.ts'

const notFound = (): Response => new Response('not found', { status: 404 })

export function buildWebHandler(state: AppState): (request: Request) => Promise<Response> {
  const open = (request: Request, options: ReturnType<AppState['streamOptions']> = { heartbeat: false }) =>
    createSseResponse({
      ...options,
      signal: request.signal,
      lastEventId: request.headers.get('last-event-id'),
    })
  return async (request) => {
    const url = new URL(request.url)
    const control = await state.control(request)
    if (control) return control
    if (request.method !== 'GET') return notFound()
    const count = Number(url.searchParams.get('count'))
    const bytes = Number(url.searchParams.get('bytes'))
    switch (url.pathname) {
      case '/stream': {
        const { stream, response } = open(request, state.streamOptions(url))
        state.track(url.searchParams.get('name') ?? undefined, stream)
        return response
      }
      case '/hub': {
        const { hub } = state
        const decision = await decideHubRoute(request, {
          hub,
          topics: () => state.topicsOf(url),
          key: () => undefined,
        })
        if (decision.kind === 'refuse') {
          const { status, headers, body } = decision.response
          return new Response(body ?? null, { status, headers })
        }
        const { stream, response } = open(request)
        void hub.subscribe(stream, decision)
        return response
      }
      case '/framing': {
        const { stream, response } = open(request)
        sendFraming(stream)
        return response
      }
      case '/produce': {
        const { stream, response } = open(request)
        void produce(stream, count, bytes)
        return response
      }
      case '/hub-produce': {
        const hub = createHub({ heartbeat: false, retry: false, historySize: 64 })
        const { stream, response } = open(request)
        stream.onClose(() => void hub.close({ retry: false }))
        void produceThroughHub(hub, stream, count, bytes)
        return response
      }
      default:
        return notFound()
    }
  }
}
