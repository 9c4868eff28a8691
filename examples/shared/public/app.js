// The live page of the @sse examples: two EventSources, no library, no build step.
// - /events?topics=news,alerts: notifications through the server's hub. On a reconnect the
//   browser sends Last-Event-ID and the hub replays exactly what this page missed, or sends
//   `sse-reset` when it cannot (a server that restarted without its history).
// - /clock: a per-client stream of `tick` events, one a second.
// Every text from the server is set with textContent, never parsed as HTML.

const $ = (id) => document.getElementById(id)
const time = (date, withMs = false) =>
  date.toLocaleTimeString([], { hour12: false }) +
  (withMs ? `.${String(date.getMilliseconds()).padStart(3, '0')}` : '')

const RESET_REASONS = {
  epoch: 'the server restarted without its history',
  trimmed: 'the missed events are older than the history keeps',
  unknown: 'the server does not know the last event id',
}

/** Adds a line to the event log, newest first. */
function log(kind, message) {
  const item = document.createElement('li')
  item.dataset.kind = kind
  const when = document.createElement('time')
  when.textContent = time(new Date(), true)
  const tag = document.createElement('span')
  tag.className = `kind ${kind}`
  tag.textContent = kind
  const text = document.createElement('span')
  text.className = 'message'
  text.textContent = message
  item.append(when, tag, text)
  const list = $('log')
  list.prepend(item)
  while (list.children.length > 200) list.lastElementChild.remove()
}

/** Opens an EventSource and shows its state (connecting, open, reconnecting, closed) and reconnects. */
function connect(url, stateId, reconnectsId, listeners) {
  const source = new EventSource(url)
  const state = $(stateId)
  let opened = false
  let reconnects = 0
  const show = (value) => {
    state.textContent = value
    state.dataset.state = value
  }
  source.addEventListener('open', () => {
    if (opened) {
      reconnects += 1
      $(reconnectsId).textContent = String(reconnects)
      log('open', `${url} reconnected`)
    } else {
      log('open', `${url} open`)
    }
    opened = true
    show('open')
  })
  source.addEventListener('error', () => {
    if (source.readyState === EventSource.CLOSED) {
      show('closed')
      log('error', `${url} was refused; the browser will not retry`)
    } else if (opened) {
      if (state.dataset.state !== 'reconnecting')
        log('error', `${url} lost; the browser reconnects by itself`)
      show('reconnecting')
    }
  })
  for (const [type, listener] of Object.entries(listeners)) source.addEventListener(type, listener)
  return source
}

function setLastEventId(id) {
  if (id) $('last-event-id').textContent = id
}

/** Shows one notification at the top of the feed. */
function showNotification(notification, id) {
  const item = document.createElement('li')
  item.className = 'note'
  item.dataset.id = id
  item.dataset.topic = notification.topic
  const meta = document.createElement('div')
  meta.className = 'meta'
  const topic = document.createElement('span')
  topic.className = `tag ${notification.topic}`
  topic.textContent = notification.topic
  const when = document.createElement('time')
  when.dateTime = notification.at
  when.textContent = time(new Date(notification.at))
  const idLabel = document.createElement('code')
  idLabel.className = 'id'
  idLabel.textContent = id
  meta.append(topic, when, idLabel)
  const text = document.createElement('p')
  text.className = 'text'
  text.dir = 'auto'
  text.textContent = notification.text
  item.append(meta, text)
  prependToFeed(item)
}

function prependToFeed(item) {
  $('feed').prepend(item)
  $('feed-empty').hidden = true
  $('feed-count').textContent = String($('feed').querySelectorAll('.note').length)
}

connect('/events?topics=news,alerts', 'events-state', 'events-reconnects', {
  notification: (event) => {
    const notification = JSON.parse(event.data)
    setLastEventId(event.lastEventId)
    showNotification(notification, event.lastEventId)
    log('event', `notification ${event.lastEventId} on ${notification.topic}`)
  },
  'sse-reset': (event) => {
    const notice = JSON.parse(event.data)
    setLastEventId(event.lastEventId)
    const why = RESET_REASONS[notice.reason] ?? notice.reason
    log('reset', `sse-reset (${notice.reason}): ${why}; notifications sent meanwhile may be missing`)
    const divider = document.createElement('li')
    divider.className = 'divider'
    divider.textContent = `history reset: ${why}`
    prependToFeed(divider)
  },
  shutdown: (event) => log('shutdown', `/events: ${event.data}`),
})

connect('/clock', 'clock-state', 'clock-reconnects', {
  tick: (event) => {
    const now = new Date(event.data)
    const clock = $('clock')
    clock.dataset.time = event.data
    clock.textContent = time(now)
    $('clock-date').textContent = now.toLocaleDateString([], {
      weekday: 'long',
      year: 'numeric',
      month: 'long',
      day: 'numeric',
    })
  },
  shutdown: (event) => log('shutdown', `/clock: ${event.data}`),
})

$('notify-form').addEventListener('submit', async (event) => {
  event.preventDefault()
  const status = $('form-status')
  const button = event.target.querySelector('button')
  const body = { topic: $('topic').value, text: $('text').value }
  button.disabled = true
  status.className = 'form-status'
  status.textContent = 'sending…'
  try {
    const response = await fetch('/notify', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify(body),
    })
    const answer = await response.json().catch(() => ({}))
    if (response.ok) {
      status.textContent = `sent as ${answer.id}`
      $('text').value = ''
    } else {
      status.className = 'form-status error'
      status.textContent = answer.error ?? `the server answered ${response.status}`
    }
  } catch {
    status.className = 'form-status error'
    status.textContent = 'the server is unreachable; try again in a moment'
  } finally {
    button.disabled = false
  }
})

// Ctrl+Enter (⌘+Enter) sends, as in most chat boxes; Enter alone makes a new line.
$('text').addEventListener('keydown', (event) => {
  if (event.key === 'Enter' && (event.ctrlKey || event.metaKey)) $('notify-form').requestSubmit()
})

fetch('/health')
  .then((response) => response.json())
  .then((health) => {
    $('framework').textContent = health.framework
  })
  .catch(() => {})
