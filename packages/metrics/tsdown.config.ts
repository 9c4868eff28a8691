import { packageConfig } from '../../tsdown.preset.ts'

export default packageConfig()
