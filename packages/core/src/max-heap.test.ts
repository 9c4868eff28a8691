import { describe, expect, it } from 'vitest'
import { KeyedMaxHeap } from './max-heap.ts'

describe('KeyedMaxHeap', () => {
  it('always peeks a key with the largest value, through inserts, updates and deletes', () => {
    const heap = new KeyedMaxHeap<string>()
    const model = new Map<string, number>()
    let state = 11
    for (let step = 0; step < 3000; step++) {
      state = (state * 1103515245 + 12345) % 2147483648
      const key = `k${state % 40}`
      if (state % 5 === 0) {
        heap.delete(key)
        model.delete(key)
      } else {
        const value = state % 1000
        heap.set(key, value)
        model.set(key, value)
      }
      expect(heap.size).toBe(model.size)
      const top = heap.peek()
      if (model.size === 0) expect(top).toBeUndefined()
      else expect(model.get(top!)).toBe(Math.max(...model.values()))
    }
  })

  it('peeks, among keys with the largest value, the one with the largest tie', () => {
    const heap = new KeyedMaxHeap<string>()
    const model = new Map<string, [number, number]>()
    let state = 7
    for (let step = 0; step < 3000; step++) {
      state = (state * 1103515245 + 12345) % 2147483648
      const key = `k${state % 30}`
      if (state % 7 === 0) {
        heap.delete(key)
        model.delete(key)
      } else {
        // Few values, so that ties are common; distinct ties per key.
        const value = state % 3
        const tie = -(state % 997)
        heap.set(key, value, tie)
        model.set(key, [value, tie])
      }
      const top = heap.peek()
      if (model.size === 0) {
        expect(top).toBeUndefined()
        continue
      }
      const [value, tie] = model.get(top!)!
      for (const [other, otherTie] of model.values()) {
        expect(other > value || (other === value && otherTie > tie)).toBe(false)
      }
    }
  })
})
