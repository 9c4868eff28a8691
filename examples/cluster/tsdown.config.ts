import { defineConfig } from 'tsdown'

// An app, not a library: `dist/cluster.mjs` (the whole cluster) and `dist/instance.mjs` (one
// instance) are what `npm start` and the tests run with plain `node`.
export default defineConfig({
  entry: ['src/cluster.ts', 'src/instance.ts'],
  format: ['esm'],
  platform: 'node',
  target: 'node20.19',
  dts: false,
  sourcemap: true,
  clean: true,
  fixedExtension: true,
})
