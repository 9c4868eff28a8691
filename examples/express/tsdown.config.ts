import { defineConfig } from 'tsdown'

// An app, not a library: `dist/server.mjs` is what `npm start` runs with plain `node`.
export default defineConfig({
  entry: ['src/server.ts'],
  format: ['esm'],
  platform: 'node',
  target: 'node20.19',
  dts: false,
  sourcemap: true,
  clean: true,
  fixedExtension: true,
})
