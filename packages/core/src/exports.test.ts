import { expect, it } from 'vitest'

// The public surface: a change here is a change to what users can import, on purpose or not.
it.each(['index', 'node', 'web', 'testing'])('%s exports', async (entry) => {
  const module = await import(`./${entry}.ts`)
  expect(Object.keys(module).sort()).toMatchSnapshot()
})
