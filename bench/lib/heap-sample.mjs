/**
 * V8's sampling heap profiler, for `flow.mjs --heap-sample`: what a server allocated that lived
 * long enough to reach the old generation. Objects that die young (collected by a scavenge) are
 * left out; those collected later by a full GC are kept, so the profile shows what grows the old
 * generation (and RSS) between full collections, not only what is still live at the end.
 * A `.heapprofile` opens in Chrome DevTools (Memory tab); `topAllocations` sums it by function.
 */
import { Session } from 'node:inspector/promises'

/**
 * The profile as V8 sends it (the `id` of nodes and the `samples` are newer than @types/node's types).
 * @typedef {{ callFrame: { functionName: string, url: string, lineNumber: number }, id: number, children: ProfileNode[] }} ProfileNode
 * @typedef {{ head: ProfileNode, samples: { size: number, nodeId: number }[] }} HeapProfile
 */

/** @type {Session | undefined} */
let session

export async function startHeapSampling() {
  session = new Session()
  session.connect()
  await session.post('HeapProfiler.startSampling', {
    samplingInterval: 1024,
    includeObjectsCollectedByMajorGC: true,
    includeObjectsCollectedByMinorGC: false,
  })
}

/** @returns {Promise<HeapProfile | undefined>} */
export async function stopHeapSampling() {
  if (!session) return undefined
  const { profile } = await session.post('HeapProfiler.stopSampling')
  session.disconnect()
  session = undefined
  return /** @type {HeapProfile} */ (/** @type {unknown} */ (profile))
}

/**
 * The functions that allocated the most sampled bytes (with their caller), biggest first.
 * @param {HeapProfile} profile
 * @param {number} count
 * @returns {{ bytes: number, site: string }[]}
 */
export function topAllocations(profile, count) {
  /** @type {Map<number, { node: ProfileNode, parent: ProfileNode | undefined }>} */
  const nodes = new Map()
  /**
   * @param {ProfileNode} node
   * @param {ProfileNode | undefined} parent
   */
  const walk = (node, parent) => {
    nodes.set(node.id, { node, parent })
    for (const child of node.children) walk(child, node)
  }
  walk(profile.head, undefined)
  /** @param {ProfileNode | undefined} node */
  const name = (node) => {
    if (!node) return '?'
    const { functionName, url, lineNumber } = node.callFrame
    return `${functionName || '(anonymous)'} ${url.split('/').slice(-2).join('/')}:${lineNumber + 1}`
  }
  /** @type {Map<string, number>} */
  const bytes = new Map()
  for (const sample of profile.samples) {
    const entry = nodes.get(sample.nodeId)
    if (!entry) continue
    // Built-ins (Map#delete, Set#add) have no location: name them with their caller.
    const site = entry.node.callFrame.url ? name(entry.node) : `${name(entry.node)} < ${name(entry.parent)}`
    bytes.set(site, (bytes.get(site) ?? 0) + sample.size)
  }
  return [...bytes]
    .sort((x, y) => y[1] - x[1])
    .slice(0, count)
    .map(([site, total]) => ({ bytes: total, site }))
}
