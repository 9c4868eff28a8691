// A redis-server for the benches: one started on a free port for the run (no persistence), and
// its `INFO` counters read over a plain socket (one RESP command, no client library).
import { spawn } from 'node:child_process'
import net from 'node:net'
import { setTimeout as sleep } from 'node:timers/promises'

/** A free TCP port on 127.0.0.1. */
async function freePort() {
  const server = net.createServer()
  await new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(undefined)))
  const { port } = /** @type {net.AddressInfo} */ (server.address())
  await new Promise((resolve) => server.close(resolve))
  return port
}

/**
 * Sends one command and returns its reply's text (a bulk string or a status line).
 * @param {number} port
 * @param {string[]} command
 */
export function redisCommand(port, command) {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1')
    let reply = ''
    const timer = setTimeout(() => {
      socket.destroy()
      reject(new Error(`redis-server on port ${port} did not answer ${command[0]} within 5 s`))
    }, 5000)
    socket.on('connect', () => {
      socket.write(
        `*${command.length}\r\n${command.map((arg) => `$${Buffer.byteLength(arg)}\r\n${arg}\r\n`).join('')}`,
      )
    })
    socket.setEncoding('utf8')
    socket.on('data', (chunk) => {
      reply += chunk
      const bulk = /^\$(\d+)\r\n/.exec(reply)
      const done = bulk ? reply.length >= bulk[0].length + Number(bulk[1]) + 2 : reply.endsWith('\r\n')
      if (done) {
        clearTimeout(timer)
        socket.end()
        resolve(bulk ? reply.slice(bulk[0].length, bulk[0].length + Number(bulk[1])) : reply.trim())
      }
    })
    socket.on('error', (error) => {
      clearTimeout(timer)
      reject(error)
    })
  })
}

/**
 * The traffic counters of `INFO stats`.
 * @param {number} port
 */
export async function redisStats(port) {
  const text = /** @type {string} */ (await redisCommand(port, ['INFO', 'stats']))
  /** @param {string} name */
  const field = (name) => Number(new RegExp(`^${name}:(\\d+)`, 'm').exec(text)?.[1] ?? Number.NaN)
  return {
    inputBytes: field('total_net_input_bytes'),
    outputBytes: field('total_net_output_bytes'),
    commands: field('total_commands_processed'),
  }
}

/** Starts redis-server (no persistence) on a free port; `stop()` ends it. */
export async function startRedis() {
  const port = await freePort()
  const child = spawn(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
    {
      stdio: 'ignore',
    },
  )
  const failed = new Promise((_, reject) => {
    child.once('error', (error) =>
      reject(
        new Error(
          `could not start redis-server (${error.message}): install it, e.g. apt-get install redis-server`,
        ),
      ),
    )
  })
  for (let i = 0; i < 100; i++) {
    const pong = await Promise.race([redisCommand(port, ['PING']).catch(() => ''), failed])
    if (pong === '+PONG')
      return { port, url: `redis://127.0.0.1:${port}`, pid: child.pid, stop: () => child.kill() }
    await sleep(50)
  }
  child.kill()
  throw new Error('redis-server did not answer PING within 5 s')
}
