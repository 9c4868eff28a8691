/**
 * Reads the body of a Web `Response` as an event stream, as Bun, Deno and Workers hand it to
 * their clients (an app's `fetch` called without a server): with the same reader, and the same
 * real parser, as `openEventStream`. `close()` cancels the body, which is how a Fetch-API runtime
 * tells the stream its client left; `pause()` stops pulling from it, as a slow client would.
 */
import { type EventStreamReader, type OpenEventStreamOptions, Reader } from './read-events.ts'

export interface ResponseReader extends EventStreamReader {
  /** Cancels the body (the client leaves); resolves once the cancel went through. The same as `close()`. */
  cancel(): Promise<void>
}

/**
 * Starts reading `response.body` in the background.
 *
 * @example
 * const reader = readResponse(await app.request('/events'))
 * const [first] = await reader.waitFor(1)
 * await reader.cancel()
 */
export function readResponse(
  response: Response,
  options: Pick<OpenEventStreamOptions, 'keepEvents' | 'onEvent'> = {},
): ResponseReader {
  if (!response.body) throw new Error(`no body (status ${response.status})`)
  const body = response.body.getReader()
  const reader = new Reader(options)
  reader.status = response.status
  response.headers.forEach((value, name) => {
    reader.headers[name] = value
    reader.rawHeaders.push(name, value)
  })
  let paused: Promise<void> | undefined
  let resume = () => {}
  reader.transport = {
    pause: () => {
      paused ??= new Promise((resolve) => {
        resume = resolve
      })
    },
    resume: () => {
      paused = undefined
      resume()
    },
    close: async () => {
      reader.finish('aborted')
      await body.cancel()
    },
  }
  void (async () => {
    try {
      for (;;) {
        await paused
        const { value, done } = await body.read()
        if (done) break
        reader.feed(value)
      }
      reader.finish('end')
    } catch {
      reader.finish('aborted')
    }
  })()
  return Object.assign(reader, { cancel: () => reader.close() })
}
