import { packageConfig } from '../../tsdown.preset.ts'

// Neutral platform: only `./node` imports `node:*`; the main entry and `./web` run on any runtime.
export default packageConfig({
  entry: ['src/index.ts', 'src/node.ts', 'src/web.ts', 'src/testing.ts'],
  platform: 'neutral',
})
