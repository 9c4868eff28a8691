// Shared tsdown settings for every workspace package and example: each `tsdown.config.ts` is one
// of these two calls (and each package still runs its own `tsdown`, from its own folder).
// ESM-only `.mjs` (and `.d.mts`) for Node 20.19+, with source maps; see DESIGN.md "Toolchain".
import type { UserConfig } from 'tsdown'

const common: UserConfig = {
  format: ['esm'],
  platform: 'node',
  target: 'node20.19',
  sourcemap: true,
  clean: true,
  fixedExtension: true,
}

/**
 * A published `@sse/*` package: `src/index.ts` with type declarations, tree-shaken. `overrides`
 * replace whole options (`entry`, `platform`, `target`).
 *
 * @example
 * export default packageConfig({ platform: 'neutral' })
 */
export function packageConfig(overrides: UserConfig = {}): UserConfig {
  return { ...common, entry: ['src/index.ts'], dts: true, treeshake: true, ...overrides }
}

/**
 * An example: an app that `npm start` and its tests run with plain `node`, so no declarations.
 *
 * @example
 * export default exampleConfig(['src/server.ts'])
 */
export function exampleConfig(entry: string[]): UserConfig {
  return { ...common, entry, dts: false }
}
