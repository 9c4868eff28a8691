/**
 * A JSON request body for frameworks that hand over raw text (Koa has no body parser, Hono reads
 * `c.req.text()`): the content type is checked, the size capped, and a parse error becomes a
 * message for a 400 rather than an exception.
 */
import type { Parsed } from './notification.ts'

/** Largest `POST /notify` body, in bytes. */
export const MAX_BODY_BYTES = 16 * 1024

/**
 * Parses a JSON body.
 *
 * @example
 * const body = parseJsonBody(c.req.header('content-type'), await c.req.text())
 * if (!body.ok) return c.json({ error: body.error }, 400)
 */
export function parseJsonBody(contentType: string | null | undefined, text: string): Parsed<unknown> {
  if (!/^application\/json\s*(;|$)/i.test(contentType ?? '')) {
    return { ok: false, error: 'send the body as JSON, with Content-Type: application/json' }
  }
  if (Buffer.byteLength(text) > MAX_BODY_BYTES) {
    return { ok: false, status: 413, error: `the body is too large: at most ${MAX_BODY_BYTES} bytes` }
  }
  try {
    return { ok: true, value: JSON.parse(text) }
  } catch (error) {
    return { ok: false, error: `the body is not valid JSON: ${(error as Error).message}` }
  }
}

/**
 * Reads a Node request body as UTF-8 text, stopping past `MAX_BODY_BYTES` (what is read is then
 * enough to refuse it).
 */
export async function readText(body: AsyncIterable<Uint8Array | string>): Promise<string> {
  const chunks: Buffer[] = []
  let size = 0
  for await (const chunk of body) {
    const bytes = typeof chunk === 'string' ? Buffer.from(chunk) : Buffer.from(chunk)
    chunks.push(bytes)
    size += bytes.length
    if (size > MAX_BODY_BYTES) break
  }
  return Buffer.concat(chunks).toString('utf8')
}
