/**
 * The live page of the cluster example: the notifications as they arrive (with the instance that
 * published each), the connection state, and a form that publishes through whichever instance
 * nginx picks. Kill an instance (`kill -9 <pid>`, printed by `npm start`) and watch the stream
 * reconnect to another one and catch up. `{{instance}}` is replaced by the serving instance.
 */
export const PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>SSE cluster: many processes, one hub</title>
<style>
  body { font: 16px/1.5 system-ui, sans-serif; max-width: 44rem; margin: 2rem auto; padding: 0 1rem; }
  #state { display: inline-block; padding: 0 .5rem; border-radius: .25rem; background: #eee; }
  #state.open { background: #c8f0c8; } #state.reconnecting { background: #f8e0a0; }
  form { display: flex; gap: .5rem; margin: 1rem 0; } input { flex: 1; font: inherit; }
  li { font-family: ui-monospace, monospace; font-size: 14px; }
  .note { color: #a33; }
</style>
</head>
<body>
<h1>Many processes, one hub</h1>
<p>This page came from instance <b>{{instance}}</b>. Stream: <span id="state">connecting</span></p>
<form id="form">
  <input id="message" placeholder="A notification for every client on every instance" required maxlength="2000">
  <button>Publish</button>
</form>
<p id="answer"></p>
<ol id="list" reversed></ol>
<script>
  const state = document.getElementById('state')
  const list = document.getElementById('list')
  const show = (text, className) => {
    const item = document.createElement('li')
    item.textContent = text
    if (className) item.className = className
    list.prepend(item)
  }
  const source = new EventSource('/events?topics=notifications')
  source.onopen = () => { state.textContent = 'open'; state.className = 'open' }
  source.onerror = () => {
    state.textContent = source.readyState === EventSource.CLOSED ? 'closed' : 'reconnecting'
    state.className = 'reconnecting'
  }
  source.addEventListener('notification', (event) => {
    const { message, instance } = JSON.parse(event.data)
    show(event.lastEventId + '  [published on ' + instance + ']  ' + message)
  })
  source.addEventListener('sse-reset', (event) => {
    show('history was lost (' + JSON.parse(event.data).reason + '): reload to refetch the state', 'note')
  })
  document.getElementById('form').onsubmit = async (event) => {
    event.preventDefault()
    const input = document.getElementById('message')
    const response = await fetch('/notify', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ topic: 'notifications', message: input.value }),
    })
    const body = await response.json()
    document.getElementById('answer').textContent = response.ok
      ? 'published as ' + body.id + ' by instance ' + body.instance
      : response.status + ': ' + body.error
    if (response.ok) input.value = ''
  }
</script>
</body>
</html>
`
