// Medians and plain-text tables for the benchmarks' output (fanout.mjs, redis-fanout.mjs, flow.mjs).

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
