// The classic first SSE program, done correctly, on plain node:http and @sse/core:
// - GET /        a page whose EventSource shows the server clock and the connection state;
// - GET /clock   a per-client stream: one `tick` event per second, heartbeats while idle,
//                bounded buffering for slow clients, cleanup when the client leaves;
// - SIGINT/SIGTERM closes every stream and exits promptly (clients reconnect after `retry`).
import http from 'node:http'
import { createEventStream } from '@sse/core'
import { createNodeSink } from '@sse/core/node'

const page = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>@sse clock</title>
<style>
  body { font: 16px/1.5 system-ui, sans-serif; max-width: 36rem; margin: 4rem auto; padding: 0 1rem; color: #1f2328; }
  .clock { font: 600 3rem/1.2 ui-monospace, monospace; margin: 1rem 0; }
  .state { display: inline-block; padding: .1rem .6rem; border-radius: 1rem; background: #eee; }
  .state.open { background: #d1f4d8; } .state.reconnecting { background: #fff1c2; }
</style></head>
<body>
  <h1>Server clock</h1>
  <p>Connection: <span id="state" class="state">connecting</span> · reconnects: <span id="reconnects">0</span></p>
  <div id="clock" class="clock">--:--:--</div>
  <p>Streamed with Server-Sent Events by <code>@sse/core</code>. Stop the server and start it again: the page reconnects by itself.</p>
<script>
  const state = document.getElementById('state'), clock = document.getElementById('clock')
  let opened = false, reconnects = 0
  const source = new EventSource('/clock')
  const show = (text) => { state.textContent = text; state.className = 'state ' + text }
  source.onopen = () => { if (opened) document.getElementById('reconnects').textContent = ++reconnects; opened = true; show('open') }
  source.onerror = () => show(source.readyState === EventSource.CLOSED ? 'closed' : 'reconnecting')
  source.addEventListener('tick', (event) => { clock.textContent = new Date(event.data).toLocaleTimeString() })
</script>
</body></html>`

const streams = new Set()
const server = http.createServer((req, res) => {
  const url = new URL(req.url ?? '/', 'http://localhost')
  if (url.pathname === '/clock') {
    const stream = createEventStream(createNodeSink(req, res), { retry: 2000 })
    const tick = () => stream.send({ event: 'tick', data: new Date().toISOString() })
    tick()
    const timer = setInterval(tick, 1000)
    streams.add(stream)
    stream.onClose(() => {
      clearInterval(timer)
      streams.delete(stream)
    })
    return
  }
  if (url.pathname === '/') {
    res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' }).end(page)
    return
  }
  res.writeHead(404, { 'Content-Type': 'text/plain' }).end('not found\n')
})

const port = Number(process.env.PORT ?? 3000)
server.listen(port, () => {
  console.log(`@sse clock demo: http://localhost:${server.address().port}/  (Ctrl+C to stop)`)
})

function shutdown() {
  for (const stream of streams) stream.close()
  server.close(() => process.exit(0))
  setTimeout(() => process.exit(0), 2000).unref()
}
process.on('SIGINT', shutdown)
process.on('SIGTERM', shutdown)
