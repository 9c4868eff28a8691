/**
 * The hub route of the `node:http` and `node:http2` models, as an adapter writes it: decide with
 * `decideHubRoute` (topics, then `authorize`, then the hub's limits) before anything goes out,
 * then send the refusal as a plain response, or open a stream and subscribe it.
 */
import { decideHubRoute } from '@sse/core'
import { createNodeEventStream, type NodeRequest, type NodeResponse } from '@sse/core/node'
import type { AdapterFixture } from '../src/index.ts'

/** Answers one request to `fixture.paths.hub`; `url` is its path and query. */
export async function hubRoute(
  fixture: AdapterFixture,
  url: string,
  req: NodeRequest,
  res: NodeResponse,
): Promise<void> {
  const decision = await decideHubRoute(
    req,
    fixture.hubOptions(() => url),
  )
  if (decision.kind === 'refuse') {
    const { status, headers, body } = decision.response
    res.writeHead(status, headers)
    if (body === undefined) res.end()
    else res.end(body)
    return
  }
  const stream = createNodeEventStream(req, res, fixture.streamOptions)
  await fixture.hub.subscribe(stream, decision).catch(() => stream.close())
}
