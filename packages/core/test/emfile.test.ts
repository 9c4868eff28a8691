/**
 * Out of file descriptors: a server whose process may open only a few dozen files is sent more
 * connections than it can accept. `EMFILE` on accept must not crash the process or corrupt the
 * hub: the process survives, the hub counts exactly the streams it holds, they still get events,
 * and once clients leave it accepts and serves new ones. A real process (`ulimit -n`, a limit
 * cannot be lowered inside this one) on a real socket; the server is `test/emfile-server.mjs`.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import http from 'node:http'
import { fileURLToPath } from 'node:url'
import { createParser } from 'eventsource-parser'
import { afterEach, describe, expect, it } from 'vitest'

/** The child's open-files limit: stdio, IPC, the event loop's own and the listener take ~20. */
const FD_LIMIT = 64
/** Connections sent at once: well past what FD_LIMIT lets the child accept. */
const CLIENTS = 150
const DEADLINE_MS = 10_000

interface Counts {
  size: number
  streams: number
  connections: number
  errors: Record<string, number>
}

/** Rejects after `ms` with `label`, so that no await of this test can hang. */
function deadline<T>(promise: Promise<T>, label: string, ms = DEADLINE_MS): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ${label} within ${ms} ms`)), ms)
    promise.then(
      (value) => {
        clearTimeout(timer)
        resolve(value)
      },
      (error: unknown) => {
        clearTimeout(timer)
        reject(error)
      },
    )
  })
}

/** An SSE client on a real socket, read with a real parser; `outcome` says whether it was served. */
function connect(port: number) {
  const events: string[] = []
  let request: http.ClientRequest | undefined
  const outcome = new Promise<'served' | 'refused'>((resolve) => {
    request = http.get({ host: '127.0.0.1', port, path: '/', agent: false }, (res) => {
      const parser = createParser({ onEvent: (event) => events.push(event.data) })
      res.setEncoding('utf8')
      res.on('data', (chunk: string) => parser.feed(chunk))
      res.on('error', () => {})
      resolve(res.statusCode === 200 ? 'served' : 'refused')
    })
    // Past the limit, the server accepts and at once closes: the client sees a reset or a hang-up.
    request.on('error', () => resolve('refused'))
  })
  return { outcome, events, close: () => request?.destroy() }
}

let child: ChildProcess | undefined
let clients: Array<ReturnType<typeof connect>> = []

afterEach(() => {
  for (const client of clients) client.close()
  clients = []
  child?.kill()
  child = undefined
})

function message<T>(proc: ChildProcess, type: string): Promise<T> {
  return deadline(
    new Promise<T>((resolve, reject) => {
      const onMessage = (value: { type: string }) => {
        if (value.type !== type) return
        proc.off('message', onMessage)
        resolve(value as T)
      }
      proc.on('message', onMessage)
      proc.once('exit', (code, signal) =>
        reject(new Error(`the server exited (${signal ?? code}) before '${type}'`)),
      )
    }),
    `'${type}' from the server`,
  )
}

function counts(proc: ChildProcess): Promise<Counts> {
  const answer = message<Counts>(proc, 'counts')
  proc.send({ type: 'counts' })
  return answer
}

/** Polls the server's counts until `done` holds, within the deadline. */
async function countsWhen(
  proc: ChildProcess,
  done: (counts: Counts) => boolean,
  label: string,
): Promise<Counts> {
  const start = Date.now()
  for (;;) {
    const now = await counts(proc)
    if (done(now)) return now
    if (Date.now() - start > DEADLINE_MS) throw new Error(`${label}: still ${JSON.stringify(now)}`)
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
}

describe.skipIf(process.platform === 'win32')('EMFILE on accept', () => {
  it('keeps the process alive and the hub exact, and serves again once clients leave', async () => {
    const server = fileURLToPath(new URL('./emfile-server.mjs', import.meta.url))
    child = spawn('bash', ['-c', `ulimit -n ${FD_LIMIT} && exec "$0" "$@"`, process.execPath, server], {
      cwd: fileURLToPath(new URL('..', import.meta.url)),
      stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
    })
    let stderr = ''
    child.stderr?.on('data', (chunk: Buffer) => {
      stderr += chunk.toString()
    })
    const proc = child
    const { port } = await message<{ port: number }>(proc, 'ready')

    clients = Array.from({ length: CLIENTS }, () => connect(port))
    const outcomes = await deadline(
      Promise.all(clients.map((client) => client.outcome)),
      'answer to every client',
    )
    const served = clients.filter((_, i) => outcomes[i] === 'served')
    const refused = outcomes.length - served.length
    // The limit was hit (some were refused) and the server held what it could (most of its fds).
    expect(refused, stderr).toBeGreaterThan(0)
    expect(served.length).toBeGreaterThan(FD_LIMIT / 2)
    expect(proc.exitCode).toBeNull()

    // The hub holds exactly the streams that were served, and they still get events.
    const full = await countsWhen(proc, (now) => now.connections === served.length, 'connections settle')
    expect(full.size).toBe(served.length)
    expect(full.streams).toBe(served.length)
    expect(full.errors).toEqual({})
    const published = message(proc, 'published')
    proc.send({ type: 'publish', data: 'still here' })
    await published
    const delivered = async () => served.every((client) => client.events.includes('still here'))
    await countsWhen(
      proc,
      () => served.every((client) => client.events.includes('still here')),
      'every served client has the event',
    )
    expect(await delivered()).toBe(true)

    // Every client leaves: the hub forgets each stream, and the server serves again.
    for (const client of clients) client.close()
    await countsWhen(proc, (now) => now.size === 0 && now.connections === 0, 'the hub empties')
    clients = Array.from({ length: 10 }, () => connect(port))
    const again = await deadline(
      Promise.all(clients.map((client) => client.outcome)),
      'answer to every new client',
    )
    expect(again).toEqual(Array(10).fill('served'))
    const after = await countsWhen(proc, (now) => now.connections === 10, 'new connections settle')
    expect(after.size).toBe(10)
    expect(after.errors).toEqual({})
    expect(proc.exitCode).toBeNull()
    expect(stderr).toBe('')
  })
})
