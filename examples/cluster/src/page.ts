/**
 * The live page of the cluster example: the notifications as they arrive (with the instance that
 * published each), the connection state, and a form that publishes through whichever instance
 * nginx picks. Kill an instance (`kill -9 <pid>`, printed by `npm start`) and watch the stream
 * reconnect to another one and catch up. `{{instance}}` is replaced by the serving instance.
 *
 * Each tab is a user (`visitor-…`, in a `user` cookie, or `?user=` in the address): "watching now"
 * counts the streams of the page's topic on every instance, live (the `presence` events of the
 * `watching` topic), and "Disconnect" closes a user's streams on every instance.
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
<p>You are <b id="user"></b>. Watching now, on every instance: <b id="watching">?</b></p>
<form id="disconnect">
  <input id="victim" placeholder="A user to disconnect on every instance" required maxlength="64">
  <button>Disconnect</button>
</form>
<p id="disconnected"></p>
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
  const named = new URLSearchParams(location.search).get('user')
  const user = named || sessionStorage.getItem('user') || 'visitor-' + Math.random().toString(36).slice(2, 7)
  sessionStorage.setItem('user', user)
  document.cookie = 'user=' + encodeURIComponent(user) + '; path=/; SameSite=Strict'
  document.getElementById('user').textContent = user
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
  source.addEventListener('disconnected', (event) => {
    source.close()
    state.textContent = 'disconnected by an admin (on instance ' + JSON.parse(event.data).by + ')'
    state.className = ''
  })
  const watching = document.getElementById('watching')
  const presence = new EventSource('/events?topics=watching')
  // Each instance publishes the changes it made, with the sum it saw; two instances' events can
  // arrive in either order, so an event is the cue to read the sums, and the last answer wins.
  let asked = 0
  async function refreshWatching() {
    const mine = ++asked
    const response = await fetch('/presence')
    const body = response.ok ? await response.json() : undefined
    if (body && mine === asked) watching.textContent = body.streams
  }
  presence.onopen = refreshWatching
  presence.addEventListener('disconnected', () => presence.close())
  presence.addEventListener('presence', refreshWatching)
  document.getElementById('disconnect').onsubmit = async (event) => {
    event.preventDefault()
    const response = await fetch('/admin/disconnect', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ user: document.getElementById('victim').value }),
    })
    const body = await response.json()
    document.getElementById('disconnected').textContent = response.status === 400
      ? body.error
      : 'closed ' + body.closed + ' stream(s) of ' + body.user + ' on ' + body.instances + ' instance(s)' +
        (body.complete ? '' : ', ' + (body.missing ?? 'some') + ' instance(s) did not answer')
  }
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
