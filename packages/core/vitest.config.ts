import { mergeConfig } from 'vitest/config'
import { sharedProject } from '../../vitest.shared.ts'

export default mergeConfig(sharedProject, {})
