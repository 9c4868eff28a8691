// The rounds every benchmark runs (fanout.mjs, redis-fanout.mjs, flow.mjs): each variant once per
// round, alternating (a, b, c, a, b, c, …) to spread machine noise, after warm-up rounds that are
// not counted; a line per run as it ends.

/**
 * Runs `run(variant, round)` for every variant, round by round, from `-warmup` (not counted) to
 * `runs - 1`, and prints one line per run: `describe(result)`, after `warning(result)` if it has
 * one and before `notes(result)`. Returns the counted results, each with its `round`.
 *
 * @example
 * const results = await runRounds({ runs, warmup, variants, run, describe: (r) => `${fmt(r.perSec)}/s` })
 *
 * @template {string} V
 * @template {{ variant: V }} R
 * @param {{
 *   runs: number, warmup: number, variants: readonly V[],
 *   run: (variant: V, round: number) => Promise<R>,
 *   describe: (result: R) => string,
 *   warning?: (result: R) => string | undefined,
 *   notes?: (result: R) => string[],
 * }} options
 * @returns {Promise<Array<R & { round: number }>>}
 */
export async function runRounds({ runs, warmup, variants, run, describe, warning, notes }) {
  /** @type {Array<R & { round: number }>} */
  const results = []
  for (let round = -warmup; round < runs; round++) {
    for (const variant of variants) {
      const result = await run(variant, round)
      if (round < 0) {
        console.log(`  warm-up ${variant}: ${describe(result)} (not counted)`)
        continue
      }
      results.push({ ...result, round })
      const warned = warning?.(result)
      if (warned) console.log(`  WARNING run ${round + 1} ${variant}: ${warned}`)
      console.log(`  run ${round + 1} ${variant}: ${describe(result)}`)
      for (const note of notes?.(result) ?? []) console.log(`    ${note}`)
    }
  }
  return results
}
