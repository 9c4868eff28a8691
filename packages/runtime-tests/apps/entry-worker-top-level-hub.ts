/**
 * What not to do on Workers: a hub made at the module's top level. Workers forbid random values
 * at global scope and a hub draws its epoch at random, so this Worker fails as it starts (the
 * runtime tests assert that; the apps make their hub inside a request instead).
 */
import { createHub } from '@sse/core'

const hub = createHub()
const worker: { fetch: () => Response } = { fetch: () => new Response(String(hub.size)) }
export default worker
