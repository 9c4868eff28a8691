// A child process's IPC messages, read in order, each with a deadline. Shared by the benchmarks
// that drive server and client processes (fanout.mjs, redis-fanout.mjs, flow.mjs).
import { fork } from 'node:child_process'
import { mkdirSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

const serverPath = fileURLToPath(new URL('./server.mjs', import.meta.url))
const clientPath = fileURLToPath(new URL('./client.mjs', import.meta.url))

/** Where `--cpu-prof` and `--heap-sample` profiles go: `bench/.profiles/`. */
export const PROFILE_DIR = fileURLToPath(new URL('../.profiles/', import.meta.url))

/**
 * Node flags that make a forked server write its CPU profile to `PROFILE_DIR` as `<name>.cpuprofile`.
 * @param {string} name
 */
export function cpuProfileFlags(name) {
  mkdirSync(PROFILE_DIR, { recursive: true })
  return ['--cpu-prof', `--cpu-prof-dir=${PROFILE_DIR}`, `--cpu-prof-name=${name}.cpuprofile`]
}

/** @typedef {{ type: string, [key: string]: any }} Message */

export class Channel {
  /** @type {Message[]} */
  #queue = []
  /** @type {((message: Message) => void) | undefined} */
  #waiter
  /** @type {Error | undefined} */
  #failure
  #timeoutMs

  /**
   * @param {import('node:child_process').ChildProcess} child
   * @param {string} name
   * @param {number} timeoutMs how long `next` waits for a message
   */
  constructor(child, name, timeoutMs) {
    this.child = child
    this.#timeoutMs = timeoutMs
    child.on('message', (/** @type {Message} */ message) => {
      if (this.#waiter) this.#waiter(message)
      else this.#queue.push(message)
    })
    child.on('exit', (code, signal) => {
      this.#failure ??= new Error(`${name} exited (code ${code}, signal ${signal})`)
      this.#waiter?.({ type: 'exit' })
    })
    this.exited = new Promise((resolve) => child.once('exit', resolve))
  }

  /**
   * The next message, which must be of `type`.
   * @param {string} type
   * @returns {Promise<Message>}
   */
  async next(type) {
    /** @type {Message} */
    const message =
      this.#queue.shift() ??
      (await new Promise((resolve, reject) => {
        if (this.#failure) return reject(this.#failure)
        const timer = setTimeout(() => reject(new Error(`timed out waiting for '${type}'`)), this.#timeoutMs)
        this.#waiter = (/** @type {Message} */ message) => {
          clearTimeout(timer)
          this.#waiter = undefined
          resolve(message)
        }
      }))
    if (message.type === 'exit') throw this.#failure
    if (message.type !== type) throw new Error(`expected '${type}', got ${JSON.stringify(message)}`)
    return message
  }

  /** @param {Message} message sent if the child is still connected */
  send(message) {
    if (this.child.connected) this.child.send(message)
  }
}

/**
 * Ends a run's child processes: clients are asked to close, servers to exit, and whatever has not
 * exited 5 s later is killed. Resolves once every one has exited.
 * @param {{ clients: Channel[], servers: Channel[] }} processes
 */
export async function stopAll({ clients, servers }) {
  for (const client of clients) client.send({ type: 'close' })
  for (const server of servers) server.send({ type: 'exit' })
  const all = [...clients, ...servers]
  const killer = setTimeout(() => {
    for (const channel of all) channel.child.kill()
  }, 5000)
  await Promise.all(all.map((channel) => channel.exited))
  clearTimeout(killer)
}

/**
 * Forks a server under test (`server.mjs`) with `args` (variant, payload bytes, …).
 * @param {string[]} args
 * @param {{ name?: string, timeoutMs: number, execArgv?: string[], env?: NodeJS.ProcessEnv }} options
 */
export function forkServer(args, { name = 'server', timeoutMs, execArgv = [], env = process.env }) {
  return new Channel(fork(serverPath, args, { execArgv, env }), name, timeoutMs)
}

/**
 * Forks a client process (`client.mjs`), the load of every benchmark.
 * @param {{ name?: string, timeoutMs: number }} options
 */
export function forkClient({ name = 'client', timeoutMs }) {
  return new Channel(fork(clientPath, [], { execArgv: [] }), name, timeoutMs)
}
