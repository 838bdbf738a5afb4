// Runs over time in numbers: the window a chart shows, and the median and
// 95th percentile of durations and start delays in it. Pure functions,
// tested in trends.test.ts.

import type { Run, RunResult } from '../../api/types'

/** How many runs the timeline and the trends look at: the newest. */
export const WINDOW = 100

/** The value below which `p` (0..1) of the values lie (nearest rank); null for none. */
export function percentile(values: number[], p: number): number | null {
  if (!values.length) return null
  const sorted = [...values].sort((a, b) => a - b)
  const rank = Math.max(1, Math.ceil(p * sorted.length))
  return sorted[rank - 1]
}

export type Stat = { count: number; median: number | null; p95: number | null; values: number[] }

function stat(values: number[]): Stat {
  return { count: values.length, median: percentile(values, 0.5), p95: percentile(values, 0.95), values }
}

/** The newest `WINDOW` runs, oldest first (as a timeline reads). */
export function window(runs: Run[]): Run[] {
  return runs.slice(0, WINDOW).reverse()
}

/** Durations of finished runs and start delays of scheduled runs, oldest first. */
export function trends(runs: Run[]): { duration: Stat; startDelay: Stat } {
  const w = window(runs)
  return {
    duration: stat(w.flatMap((r) => (r.durationSeconds ?? null) !== null && r.result !== 'Missed' ? [r.durationSeconds as number] : [])),
    startDelay: stat(w.flatMap((r) => ((r.startDelaySeconds ?? null) !== null ? [r.startDelaySeconds as number] : []))),
  }
}

/** The colour class of a result: the badges' tones. */
export function tone(result: RunResult): string {
  switch (result) {
    case 'Succeeded':
      return 'ok'
    case 'Failed':
      return 'bad'
    case 'Missed':
    case 'Cancelled':
      return 'warn'
    case 'Running':
    case 'Pending':
      return 'busy'
    default:
      return 'idle'
  }
}

/** "18 succeeded, 1 failed, 1 missed". */
export function countByResult(results: RunResult[]): string {
  const counts = new Map<string, number>()
  for (const r of results) counts.set(r, (counts.get(r) ?? 0) + 1)
  return [...counts].map(([r, n]) => `${n} ${r.toLowerCase()}`).join(', ')
}
