// One fan-out run, as fanout.mjs and redis-fanout.mjs drive it over IPC (see server.mjs and
// client.mjs for the messages): the clients connect, spread over the servers; each server waits
// until its share is open and idle; the first server publishes; the run ends once every client
// process has every event on every connection, and each server reports.

import { runRounds } from './rounds.mjs'

/** @typedef {import('./channel.mjs').Channel} Channel */
/** @typedef {import('./channel.mjs').Message} Message */

/**
 * @param {{
 *   servers: Channel[], clients: Channel[], perClient: number, events: number, burst: number,
 *   parser: 'count' | 'eventsource-parser',
 *   onIdle?: () => void, onDone?: () => void,
 * }} run `perClient`: connections per client process; client `i` goes to server `i % servers.length`.
 *   `onIdle` runs just before the first publish, `onDone` as soon as every client has everything.
 * @returns {Promise<{ ready: Message[], connected: Message[], idle: Message[], published: Message,
 *   dones: Message[], reports: Message[], elapsedMs: number }>} `elapsedMs`: the first publish until
 *   the last client process had every event, on the monotonic clock all processes share.
 */
export async function driveFanout({ servers, clients, perClient, events, burst, parser, onIdle, onDone }) {
  const ready = await Promise.all(servers.map((server) => server.next('ready')))
  clients.forEach((client, i) => {
    client.send({
      type: 'connect',
      port: ready[i % servers.length]?.port,
      clients: perClient,
      events,
      parser,
    })
  })
  const connected = await Promise.all(clients.map((client) => client.next('connected')))
  servers.forEach((server, i) => {
    const mine = clients.filter((_, c) => c % servers.length === i).length
    server.send({ type: 'idle', clients: mine * perClient })
  })
  const idle = await Promise.all(servers.map((server) => server.next('idle')))
  onIdle?.()
  const [publisher] = servers
  if (!publisher) throw new Error('a fan-out run needs a server')
  publisher.send({ type: 'publish', events, burst })
  const published = await publisher.next('published')
  const dones = await Promise.all(clients.map((client) => client.next('done')))
  onDone?.()
  for (const server of servers) server.send({ type: 'report' })
  const reports = await Promise.all(servers.map((server) => server.next('report')))
  const last = dones.reduce((max, done) => (BigInt(done.at) > max ? BigInt(done.at) : max), 0n)
  return {
    ready,
    connected,
    idle,
    published,
    dones,
    reports,
    elapsedMs: Number(last - BigInt(published.t0)) / 1e6,
  }
}

/**
 * `runRounds` for a fan-out benchmark: a run warns when a connection did not get exactly
 * `args.events` events.
 * @template {string} V
 * @template {{ variant: V, counts: { min: number, max: number } }} R
 * @param {{ runs: number, warmup: number, events: number }} args
 * @param {readonly V[]} variants
 * @param {(variant: V, round: number) => Promise<R>} run
 * @param {(result: R) => string} describe the line of a run
 */
export function fanoutRounds({ runs, warmup, events }, variants, run, describe) {
  return runRounds({
    runs,
    warmup,
    variants,
    run,
    describe,
    warning: ({ counts: { min, max } }) =>
      min !== events || max !== events
        ? `events per connection ${min}..${max}, expected ${events}`
        : undefined,
  })
}
