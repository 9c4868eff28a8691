/**
 * Builds the example before its tests: the instances run as real processes from `dist/`, so they
 * must run the current source. The `@sse/*` packages they import resolve to their own `dist/` (as
 * in a user's app), which `npm test` builds first (turbo's `^build`).
 */
import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { build } from 'tsdown'

export default async function setup(): Promise<void> {
  for (const name of ['core', 'express', 'redis']) {
    const dist = new URL(`../../../packages/${name}/dist/index.mjs`, import.meta.url)
    if (!existsSync(dist))
      throw new Error(`@sse/${name} is not built: run \`npm run build\` at the root first`)
  }
  await build({ cwd: fileURLToPath(new URL('..', import.meta.url)), logLevel: 'warn' })
}
