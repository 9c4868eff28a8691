/**
 * `@sse/client` in another runtime: `bun apps/client-runner.ts URL` or
 * `deno run --allow-net --allow-read --allow-env apps/client-runner.ts URL`. Connects with typed
 * events, prints one JSON line per thing that happens (the Node test reads them), and closes the
 * client when a `note` says `close`; the process then ends by itself.
 */
import { connect } from '@sse/client'

type Events = { note: { text: string }; tick: string }

declare const Deno: { readonly args: readonly string[] } | undefined
declare const Bun: { readonly argv: readonly string[] } | undefined

const url = typeof Deno !== 'undefined' ? Deno.args[0] : Bun?.argv[2]
const print = (line: Record<string, unknown>) => console.log(JSON.stringify(line))

print({ kind: 'resolved', client: import.meta.resolve('@sse/client') })
const source = connect<Events>(String(url), {
  json: { note: true },
  reconnect: { initialDelay: 50, maxDelay: 200 },
})
source.onOpen(({ attempt, status }) => print({ kind: 'open', attempt, status }))
source.onReconnecting(({ attempt, error }) => print({ kind: 'reconnecting', attempt, error: error?.message }))
source.onError((error) => print({ kind: 'error', message: String(error) }))
source.onClose(({ reason }) => print({ kind: 'close', reason, readyState: source.readyState }))
source.on('tick', (event) => {
  // Typed: a tick's data is the string the server sent.
  const data: string = event.data
  print({ kind: 'event', type: event.type, data, lastEventId: event.lastEventId })
})
source.on('note', (event) => {
  // Typed and decoded: a note's data is the object the server serialized.
  const text: string = event.data.text
  print({ kind: 'event', type: event.type, data: event.data, lastEventId: event.lastEventId })
  if (text === 'close') source.close()
})
