/** The public surface of `@sse/hono`: the same names as every adapter, and never changed by accident. */
import { expect, it } from 'vitest'
import * as hono from '../src/index.ts'

it('exports the same names', () => {
  expect(Object.keys(hono).sort()).toMatchInlineSnapshot(`
    [
      "sse",
      "sseHub",
    ]
  `)
})
