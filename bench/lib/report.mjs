// Medians, ratios and plain-text tables for the benchmarks' output (fanout.mjs, redis-fanout.mjs, flow.mjs).

/** @param {number[]} values */
export function median(values) {
  const sorted = [...values].sort((x, y) => x - y)
  const mid = sorted.length >> 1
  return sorted.length % 2 ? (sorted[mid] ?? Number.NaN) : ((sorted[mid - 1] ?? 0) + (sorted[mid] ?? 0)) / 2
}

export const MB = 1024 * 1024
/** @param {number} bytes */
export const mb = (bytes) => (bytes / MB).toFixed(1)
/** @param {number} value */
export const fmt = (value) => Math.round(value).toLocaleString('en-US')

/**
 * Rows as aligned columns: the first left-aligned, the others right-aligned.
 * @param {string[][]} rows
 */
export function table(rows) {
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((row) => (row[i] ?? '').length))) ?? []
  return rows
    .map((row) =>
      row.map((cell, i) => (i === 0 ? cell.padEnd(widths[i] ?? 0) : cell.padStart(widths[i] ?? 0))),
    )
    .map((row) => row.join('  '))
    .join('\n')
}

/**
 * The line above the tables of medians: how many runs, and how long the whole benchmark took.
 * @param {number} runs
 * @param {number} startedAt `Date.now()` at the start
 */
export function mediansHeading(runs, startedAt) {
  return `medians of ${runs} runs (${((Date.now() - startedAt) / 1000).toFixed(0)} s in all):`
}

/**
 * The median of each of `keys` over `rows`.
 * @template {string} K
 * @param {ReadonlyArray<Record<K, number>>} rows
 * @param {readonly K[]} keys
 * @returns {Record<K, number>}
 */
export function medians(rows, keys) {
  return /** @type {Record<K, number>} */ (
    Object.fromEntries(keys.map((key) => [key, median(rows.map((row) => row[key]))]))
  )
}

/**
 * The median over rounds of `pick(x's run) / pick(y's run in the same round)`: runs of one round
 * are seconds apart, so their ratio cancels load that comes and goes.
 * @template {{ variant: string, round: number }} R
 * @param {readonly R[]} results
 * @param {string} x
 * @param {string} y
 * @param {(result: R) => number} pick
 */
export function pairedRatio(results, x, y, pick) {
  const ys = results.filter((r) => r.variant === y)
  return median(
    results
      .filter((r) => r.variant === x)
      .map((r) => {
        const other = ys.find((one) => one.round === r.round)
        return other ? pick(r) / pick(other) : Number.NaN
      }),
  )
}

/**
 * @template T
 * @typedef {readonly [header: string, cell: (row: T) => string]} Column
 */

/**
 * `rows` as a table with one column per `[header, cell]`.
 * @template T
 * @param {readonly T[]} rows
 * @param {ReadonlyArray<Column<T>>} columns
 */
export function columnsTable(rows, columns) {
  return table([
    columns.map(([header]) => header),
    ...rows.map((row) => columns.map(([, cell]) => cell(row))),
  ])
}

/**
 * A column of milliseconds, rounded.
 * @template T
 * @param {string} header
 * @param {(row: T) => number} pick
 * @returns {Column<T>}
 */
export function msColumn(header, pick) {
  return [header, (row) => pick(row).toFixed(0)]
}

/**
 * The first columns of both fan-out benchmarks' tables: the variant, deliveries/s, and the times.
 * @template {string} V
 * @param {Record<V, string>} labels
 * @returns {Array<Column<{ variant: V, deliveriesPerSec: number, elapsedMs: number, publishMs: number }>>}
 */
export function fanoutColumns(labels) {
  return [
    ['variant', (s) => labels[s.variant]],
    ['deliveries/s', (s) => fmt(s.deliveriesPerSec)],
    msColumn('total ms', (s) => s.elapsedMs),
    msColumn('publish ms', (s) => s.publishMs),
  ]
}
