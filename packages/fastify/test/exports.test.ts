/** The public surface of `@sse/fastify`: a change to it shows up here, never by accident. */
import { expect, it } from 'vitest'
import * as adapter from '../src/index.ts'

it('exports the same names as every adapter', () => {
  expect(Object.keys(adapter).sort()).toMatchInlineSnapshot(`
    [
      "sse",
      "sseHub",
      "ssePlugin",
    ]
  `)
})
