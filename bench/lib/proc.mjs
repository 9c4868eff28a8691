// CPU time from /proc (Linux): of one process, and of the whole machine. NaN elsewhere.
import { execFileSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { cpus } from 'node:os'

const clockTicks = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' })) || 100
  } catch {
    return 100
  }
})()

/**
 * CPU ms (user + system) of a process so far.
 * @param {number | undefined} pid
 */
export function cpuOf(pid) {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? []
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / clockTicks
  } catch {
    return Number.NaN
  }
}

/**
 * CPU ms the whole machine has been busy so far (summed over its cores: user, nice, system, irq,
 * softirq), CPU ms stolen by the hypervisor (the vCPU wanted to run and could not), and its cores.
 */
export function machineCpu() {
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? ''
    const [, ...values] = line.trim().split(/\s+/).map(Number)
    // user nice system idle iowait irq softirq steal (guest time is already in user)
    const busy = [0, 1, 2, 5, 6].reduce((sum, i) => sum + (values[i] ?? 0), 0)
    const toMs = (/** @type {number} */ ticks) => (ticks * 1000) / clockTicks
    return { busyMs: toMs(busy), stealMs: toMs(values[7] ?? 0), cores: cpus().length }
  } catch {
    return { busyMs: Number.NaN, stealMs: Number.NaN, cores: cpus().length }
  }
}
