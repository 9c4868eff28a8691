import { exampleConfig } from '../../tsdown.preset.ts'

// An app, not a library: `dist/cluster.mjs` (the whole cluster) and `dist/instance.mjs` (one
// instance) are what `npm start` and the tests run with plain `node`.
export default exampleConfig(['src/cluster.ts', 'src/instance.ts'])
