import { packageConfig } from '../../tsdown.preset.ts'

// Neutral platform and ES2022: the same file runs in browsers and in Node 20.19+.
export default packageConfig({ platform: 'neutral', target: 'es2022' })
