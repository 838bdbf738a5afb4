import { describe, expect, it } from 'vitest'
import type { Run } from '../../api/types'
import { countByResult, percentile, trends, window } from './trends'

const run = (i: number, r: Partial<Run>): Run =>
  ({ name: `r-${i}`, trigger: 'scheduled', result: 'Succeeded', attempts: [], inCluster: true, ...r }) as Run

describe('trends', () => {
  it('takes the nearest rank', () => {
    expect(percentile([], 0.5)).toBeNull()
    expect(percentile([5], 0.95)).toBe(5)
    expect(percentile([4, 1, 3, 2], 0.5)).toBe(2)
    expect(percentile(Array.from({ length: 100 }, (_, i) => i + 1), 0.95)).toBe(95)
  })

  it('looks at the newest hundred runs, oldest first, and skips what has no value', () => {
    // Newest first, as the API lists them.
    const runs = Array.from({ length: 120 }, (_, i) => run(i, { durationSeconds: 120 - i, startDelaySeconds: i % 3 }))
    runs.splice(1, 0, run(999, { result: 'Missed' }), run(998, { result: 'Running' }))
    const w = window(runs)
    expect(w).toHaveLength(100)
    expect(w.at(-1)?.name).toBe('r-0')
    const t = trends(runs)
    expect(t.duration.count).toBe(98)
    expect(t.duration.median).toBe(71)
    expect(t.duration.p95).toBe(116)
    expect(t.startDelay.p95).toBe(2)
  })

  it('counts results in words', () => {
    expect(countByResult(['Succeeded', 'Failed', 'Succeeded', 'Missed'])).toBe('2 succeeded, 1 failed, 1 missed')
  })
})
