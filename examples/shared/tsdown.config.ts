import { exampleConfig } from '../../tsdown.preset.ts'

// What the examples import at run time (`dist/index.mjs`); only they use it, so no declarations.
export default exampleConfig(['src/index.ts'])
