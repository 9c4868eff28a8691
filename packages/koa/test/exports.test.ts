/** The public surface of `@sse/koa`: the same names as every adapter, and never changed by accident. */
import { expect, it } from 'vitest'
import * as koa from '../src/index.ts'

it('exports the same names', () => {
  expect(Object.keys(koa).sort()).toMatchInlineSnapshot(`
    [
      "sse",
      "sseHub",
    ]
  `)
})
