import { packageConfig } from '../../tsdown.preset.ts'

// Neutral platform: the same build runs on Node, Bun, Deno and Workers.
export default packageConfig({ platform: 'neutral' })
