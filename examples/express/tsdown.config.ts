import { exampleConfig } from '../../tsdown.preset.ts'

// An app, not a library: `dist/server.mjs` is what `npm start` runs with plain `node`.
export default exampleConfig(['src/server.ts'])
