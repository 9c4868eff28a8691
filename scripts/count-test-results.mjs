// Sums the vitest JSON reports (`test-results.json`) of every workspace package with a `test`
// script and prints one plain line: `N passed, N failed`. A package whose tests did not produce a
// report, a test file that failed to load, and a non-zero `npm test` with no failed test (a build,
// typecheck or package-lint failure) each count as one failure, so the line never reads green
// when the run was not.
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'

const root = new URL('..', import.meta.url).pathname
const npmStatus = Number(process.argv[2] ?? 0)
const workspaces = ['packages', 'examples']
  .flatMap((dir) =>
    existsSync(join(root, dir)) ? readdirSync(join(root, dir)).map((name) => join(dir, name)) : [],
  )
  .concat(['bench'])
  .filter((dir) => existsSync(join(root, dir, 'package.json')))

let passed = 0
let failed = 0
const problems = []
for (const dir of workspaces) {
  const pkg = JSON.parse(readFileSync(join(root, dir, 'package.json'), 'utf8'))
  if (!pkg.scripts?.test) continue
  const file = join(root, dir, 'test-results.json')
  if (!existsSync(file)) {
    failed++
    problems.push(`${pkg.name}: no test report (its tests did not run to the end)`)
    continue
  }
  const report = JSON.parse(readFileSync(file, 'utf8'))
  passed += report.numPassedTests
  failed += report.numFailedTests
  for (const result of report.testResults) {
    if (result.status === 'failed' && result.assertionResults.every((test) => test.status !== 'failed')) {
      failed++
      problems.push(`${pkg.name}: ${result.name} failed to run: ${String(result.message).split('\n')[0]}`)
    }
  }
}
if (npmStatus !== 0 && failed === 0) {
  failed++
  problems.push(`npm test exited with ${npmStatus} outside the tests (build, typecheck or lint:package)`)
}
for (const problem of problems) console.log(`! ${problem}`)
console.log(`${passed} passed, ${failed} failed`)
process.exit(failed > 0 || npmStatus !== 0 ? 1 : 0)
