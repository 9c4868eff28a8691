// The command line of the benchmarks (fanout.mjs, redis-fanout.mjs, flow.mjs), parsed once.
import { parseArgs } from 'node:util'

/**
 * Parses `process.argv`: `numbers` are `--name=N` options with their defaults, `strings` are
 * `--name=value` ones with theirs, `flags` are booleans (false unless given). Every benchmark also
 * takes `--timeout-ms` (how long a run waits for a child's message, 60 s) and `--json`.
 *
 * @example
 * const args = benchArgs({ numbers: { runs: 5, warmup: 1 }, strings: { variants: 'a,b' }, flags: ['cpu-prof'] })
 * args.runs // 5, or what --runs says
 *
 * @template {string} N
 * @template {string} S
 * @template {string} F
 * @param {{ numbers: Record<N, number>, strings?: Record<S, string>, flags?: F[] }} spec
 * @returns {{ [K in N | 'timeout-ms']: number } & { [K in S]: string } & { [K in F | 'json']: boolean }}
 */
export function benchArgs({ numbers, strings = /** @type {Record<S, string>} */ ({}), flags = [] }) {
  const allNumbers = { 'timeout-ms': 60_000, ...numbers }
  /** @type {Record<string, { type: 'string', default: string } | { type: 'boolean', default: boolean }>} */
  const options = {}
  for (const [name, value] of Object.entries(allNumbers))
    options[name] = { type: 'string', default: String(value) }
  for (const [name, value] of Object.entries(strings))
    options[name] = { type: 'string', default: String(value) }
  for (const name of [...flags, 'json']) options[name] = { type: 'boolean', default: false }
  const { values } = parseArgs({ options })
  /** @type {Record<string, unknown>} */
  const parsed = { ...values }
  for (const name of Object.keys(allNumbers)) parsed[name] = Number(values[name])
  return /** @type {any} */ (parsed)
}

/**
 * The names in a comma-separated `--variants` that `labels` knows, in the order given.
 * @template {string} V
 * @param {string} list
 * @param {Record<V, string>} labels
 * @returns {V[]}
 */
export function pickVariants(list, labels) {
  return /** @type {V[]} */ (list.split(',').filter((name) => name in labels))
}
