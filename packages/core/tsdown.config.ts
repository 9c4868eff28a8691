import { defineConfig } from 'tsdown'

export default defineConfig({
  entry: ['src/index.ts', 'src/node.ts', 'src/web.ts', 'src/testing.ts'],
  format: ['esm'],
  platform: 'neutral',
  target: 'node20.19',
  dts: true,
  sourcemap: true,
  clean: true,
  treeshake: true,
  fixedExtension: true,
})
