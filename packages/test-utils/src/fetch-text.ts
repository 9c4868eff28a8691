/**
 * A plain request for answers that are not streams (refusals, JSON routes, pages), with a
 * deadline on the head and on the body.
 */
import { DEFAULT_TIMEOUT_MS, withTimeout } from './with-timeout.ts'

/** A whole answer read with `fetch`. */
export interface FetchedText {
  readonly response: Response
  readonly status: number
  readonly headers: Headers
  /** The body as text. */
  readonly body: string
}

/**
 * @example
 * const { status, body } = await fetchText(`${server.url}/events`, { headers: { cookie: 'session=abc' } })
 * expect(JSON.parse(body)).toEqual({ error: 'log in' })
 */
export async function fetchText(
  url: string | URL,
  init: RequestInit = {},
  timeoutMs = DEFAULT_TIMEOUT_MS,
): Promise<FetchedText> {
  const what = `${init.method ?? 'GET'} ${url}`
  const response = await withTimeout(
    fetch(url, { ...init, signal: AbortSignal.timeout(timeoutMs) }),
    timeoutMs,
    what,
  )
  const body = await withTimeout(response.text(), timeoutMs, `the body of ${what}`)
  return { response, status: response.status, headers: response.headers, body }
}

/** A whole answer whose body is JSON (`undefined` when it is empty). */
export interface FetchedJson {
  readonly response: Response
  readonly status: number
  readonly headers: Headers
  readonly body: unknown
}

/**
 * `fetchText`, with the body parsed as JSON.
 *
 * @example
 * expect(await fetchJson(`${url}/events`)).toMatchObject({ status: 401, body: { error: 'log in' } })
 */
export async function fetchJson(url: string | URL, init: RequestInit = {}): Promise<FetchedJson> {
  const { body, ...answer } = await fetchText(url, init)
  return { ...answer, body: body === '' ? undefined : JSON.parse(body) }
}

/**
 * POSTs `json` (`Content-Type: application/json`) and reads the answer as JSON.
 *
 * @example
 * const { status, body } = await postJson(`${url}/news`, { title: 'hello' })
 */
export function postJson(url: string | URL, json: unknown): Promise<FetchedJson> {
  return fetchJson(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(json),
  })
}
