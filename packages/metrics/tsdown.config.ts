import { packageConfig } from '../../tsdown.preset.ts'

// Two entries, one per metrics API: each imports only its own peer, so either can be left out.
export default packageConfig({ entry: ['src/index.ts', 'src/otel.ts'] })
