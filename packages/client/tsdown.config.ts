import { defineConfig } from 'tsdown'

// Neutral platform and ES2022: the same file runs in browsers and in Node 20.19+.
export default defineConfig({
  entry: ['src/index.ts'],
  format: ['esm'],
  platform: 'neutral',
  target: 'es2022',
  dts: true,
  sourcemap: true,
  clean: true,
  treeshake: true,
  fixedExtension: true,
})
