import { connect, isRetryableStatus } from '@sse/client'

let notes: string[] = []
async function loadNotes() {
  notes = (await (await fetch('http://localhost:3000/notes')).json()) as string[]
}

await loadNotes()
const source = connect('http://localhost:3000/events', {
  reconnect: {
    maxDelay: 60_000,
    maxAttempts: 50,
    // Also retry 401: a headers function would fetch a fresh token before the next attempt.
    retryStatus: (status) => status === 401 || isRetryableStatus(status),
  },
  idleTimeout: 45_000, // @sse/core sends a heartbeat comment every 15 s
})
source.on('note', (event) => notes.push(event.data))
source.onReset(async ({ reason }) => {
  console.log(`the server cannot replay what we missed (${reason}): reloading`)
  await loadNotes()
})
source.onError((error) => console.error(error.code, error.status, error.body))
