/** The public surface of `@sse/express`: a change to it shows up here, never by accident. */
import { expect, it } from 'vitest'
import * as express from '../src/index.ts'

it('exports the same names', () => {
  expect(Object.keys(express).sort()).toMatchInlineSnapshot(`
    [
      "sse",
      "sseHub",
    ]
  `)
})
