/**
 * Each README's "Tested on" table says exactly what CI runs: the tables are rendered from the
 * test files (see `matrix.ts`) and compared with the READMEs, so a runtime, a case or a framework
 * major that a README claims but no test runs (or the other way round) fails here.
 */
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { CLIENT_CASES } from './client-cases.ts'
import {
  ADAPTERS,
  type AdapterName,
  contractRuns,
  normalise,
  peerMajors,
  ROOT,
  readmeMatrix,
  renderClientMatrix,
  renderFrameworkMatrix,
  renderRuntimeMatrix,
  runtimeSuiteCalls,
} from './matrix.ts'

const readme = (pkg: string) => readFileSync(join(ROOT, 'packages', pkg, 'README.md'), 'utf8')

/** Compares a README's table with the rendered one; the failure shows the table to paste. */
function expectTable(pkg: string, name: string, rendered: string): void {
  const found = readmeMatrix(readme(pkg), name)
  expect(
    found,
    `packages/${pkg}/README.md has no <!-- matrix: ${name} --> table; it should be:\n${rendered}`,
  ).toBeDefined()
  expect(found, `packages/${pkg}/README.md's ${name} table; it should be:\n${rendered}\n`).toBe(
    normalise(rendered),
  )
}

describe('the READMEs state what CI runs', () => {
  it('runs every runtime with both apps', () => {
    const calls = runtimeSuiteCalls()
    for (const runtime of ['node', 'bun', 'deno', 'workerd'])
      for (const app of ['hono', 'web'])
        expect(
          calls.some((call) => call.runtime === runtime && call.app === app),
          `${runtime} × ${app}`,
        ).toBe(true)
  })

  it('@sse/hono: runtimes × cases, for the app on @sse/hono', () => {
    expectTable('hono', 'runtimes', renderRuntimeMatrix('hono'))
  })

  it('@sse/core: runtimes × cases, for the app on @sse/core/web alone', () => {
    expectTable('core', 'runtimes', renderRuntimeMatrix('web'))
  })

  it('@sse/client: the runtimes it runs on', () => {
    expectTable('client', 'runtimes', renderClientMatrix(CLIENT_CASES))
  })

  for (const adapter of Object.keys(ADAPTERS) as AdapterName[]) {
    it(`@sse/${adapter}: every major of the peer range runs the contract suite`, () => {
      const runs = contractRuns(adapter)
      for (const major of peerMajors(adapter))
        expect(
          runs.some((run) => run.major === major),
          `${ADAPTERS[adapter].label} ${major} is in the peer range but no contract file imports it`,
        ).toBe(true)
      expectTable(adapter, 'frameworks', renderFrameworkMatrix(adapter))
    })
  }
})
