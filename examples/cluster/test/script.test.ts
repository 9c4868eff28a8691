/**
 * `npm start`, as a user runs it: `node dist/cluster.mjs` starts redis-server, three instances and
 * nginx on free ports, prints the URL, serves through it, and on SIGTERM stops every process it
 * started and removes its temp dir.
 */
import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { openEventStream, pollUntil } from '@sse/test-utils'
import { expect, it } from 'vitest'
import { launch, waitForOutput } from '../src/processes.ts'
import { cleanup, describeCluster, notify } from './harness.ts'

const SCRIPT = fileURLToPath(new URL('../dist/cluster.mjs', import.meta.url))

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

describeCluster('npm start (dist/cluster.mjs)', () => {
  it('runs the cluster behind one URL, and stops everything on SIGTERM', async () => {
    const script = launch('cluster.mjs', process.execPath, [SCRIPT], { env: { PORT: '' } })
    const pids: number[] = []
    cleanup(async () => {
      await script.stop('SIGTERM', 10_000)
      for (const pid of pids) if (alive(pid)) process.kill(pid, 'SIGKILL') // only if the script failed to
    })
    const [, url] = (await waitForOutput(script, /^Open (http:\/\/127\.0\.0\.1:\d+)/m, 20_000)) as string[]
    for (const match of script.output().matchAll(/ {2}pid (\d+)/g)) pids.push(Number(match[1]))
    expect(pids).toHaveLength(5) // redis-server, three instances, nginx
    const dir = /append-only data in (\S+)\/redis/.exec(script.output())?.[1]
    expect(dir && existsSync(dir)).toBe(true)

    const health = await fetch(`${url}/health`, { signal: AbortSignal.timeout(5000) })
    expect(await health.json()).toMatchObject({ ok: true, instance: expect.stringMatching(/^[abc]$/) })
    const reader = await openEventStream(`${url}/events`)
    cleanup(() => reader.close())
    const { status, body } = await notify(url!, 'notifications', 'hello from the test')
    expect(status).toBe(201)
    expect(await reader.next()).toMatchObject({ event: 'notification', id: body.id })

    await script.stop('SIGTERM', 10_000)
    expect(await script.exited).toEqual({ code: 0, signal: null })
    expect(script.output()).toContain(`stopped; removed ${dir}`)
    expect(existsSync(dir!)).toBe(false)
    await pollUntil(() => pids.every((pid) => !alive(pid)), 5000, 'every process of the cluster to be gone')
    await expect(fetch(`${url}/health`, { signal: AbortSignal.timeout(2000) })).rejects.toThrow()
  })
})
