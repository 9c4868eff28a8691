// The operating system's limits that bound how many connections `scale.mjs` can hold (Linux: read
// from /proc; elsewhere unknown), and the messages that name them when a run hits one.
import { readFileSync } from 'node:fs'

/** Milliseconds on CLOCK_MONOTONIC, the clock every process of the machine shares. */
export function monotonicMs() {
  return Number(process.hrtime.bigint()) / 1e6
}

/**
 * This process's open-files limit: `soft` is what it may open now, `hard` what `ulimit -n` may
 * raise the soft limit to. `Infinity` when unlimited, `NaN` when unknown.
 */
export function readFdLimit() {
  try {
    const line = readFileSync('/proc/self/limits', 'utf8')
      .split('\n')
      .find((row) => row.startsWith('Max open files'))
    const [soft, hard] = (line ?? '')
      .slice('Max open files'.length)
      .trim()
      .split(/\s+/)
      .map((value) => (value === 'unlimited' ? Number.POSITIVE_INFINITY : Number(value)))
    return { soft: soft ?? Number.NaN, hard: hard ?? Number.NaN }
  } catch {
    return { soft: Number.NaN, hard: Number.NaN }
  }
}

/** @param {string} path */
function readNumbers(path) {
  try {
    return readFileSync(path, 'utf8').trim().split(/\s+/).map(Number)
  } catch {
    return []
  }
}

/** The ephemeral port range (`net.ipv4.ip_local_port_range`) and how many ports it has. */
export function readPortRange() {
  const [low = 32_768, high = 60_999] = readNumbers('/proc/sys/net/ipv4/ip_local_port_range')
  return { low, high, size: high - low + 1 }
}

/** `net.core.somaxconn`: the cap on any listen backlog. */
export function readSomaxconn() {
  return readNumbers('/proc/sys/net/core/somaxconn')[0] ?? Number.NaN
}

/** What to tell the user when a connection failed with `code`, or `undefined` if it names no limit. */
export function limitMessage(/** @type {string | undefined} */ code, /** @type {string} */ where) {
  if (code === 'EMFILE') {
    return `${where} ran out of file descriptors (EMFILE: the per-process limit, ulimit -n = ${readFdLimit().soft}). Raise it with \`ulimit -n <N>\` (up to the hard limit, ${readFdLimit().hard}; above it: LimitNOFILE= in the systemd unit, or /etc/security/limits.conf), or ask for fewer --streams per process (more --servers; for clients, a smaller --per-client).`
  }
  if (code === 'ENFILE') {
    return `${where} hit the system-wide file limit (ENFILE: fs.file-max). Raise it with \`sysctl -w fs.file-max=<N>\`, or ask for fewer --streams.`
  }
  if (code === 'EADDRNOTAVAIL' || code === 'EADDRINUSE') {
    const range = readPortRange()
    return `${where} ran out of source ports (${code}): one source address has 65,535 ports (the kernel's own choice, net.ipv4.ip_local_port_range, is ${range.low}-${range.high}: ${range.size}). Spread the clients over more source addresses: a smaller --per-client starts more client processes, each on its own 127.0.0.x (in production: more client IPs, or widen the range with \`sysctl -w net.ipv4.ip_local_port_range="1024 65535"\`).`
  }
  return undefined
}
