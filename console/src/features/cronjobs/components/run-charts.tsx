// Runs over time, in plain HTML and SVG (no chart library: the first load
// stays small). Every mark has a text alternative: the strip and the
// timeline are lists of named items, the trends a sentence.

import type { Run, RunMark } from '../../../api/types'
import { formatDuration } from '../run-health'
import { type Stat, countByResult, tone, trends, window } from '../trends'

function markLabel(r: { name: string; result: string; durationSeconds?: number | null }): string {
  const d = r.durationSeconds ?? null
  return `${r.name}: ${r.result}${d !== null && r.result !== 'Missed' ? `, ${formatDuration(d)}` : ''}`
}

/** The last runs of a CronJob in its list row, oldest left. */
export function HistoryStrip({ cronjob, marks }: { cronjob: string; marks: RunMark[] }) {
  if (!marks.length) return null
  const oldestFirst = [...marks].reverse()
  return (
    <ol className="strip" aria-label={`Last ${marks.length} runs of ${cronjob}: ${countByResult(marks.map((m) => m.result))}`}>
      {oldestFirst.map((m) => (
        <li key={m.name} className={`mark mark-${tone(m.result)}`} title={markLabel(m)}>
          <span className="sr-only">{markLabel(m)}</span>
        </li>
      ))}
    </ol>
  )
}

/**
 * The newest runs as bars, oldest left: the colour is the result, the
 * height the duration (relative to the longest); a missed or unfinished run
 * is a short mark. Each bar opens its run.
 */
export function RunTimeline({ runs, selected, onOpen }: { runs: Run[]; selected: string | null; onOpen: (run: string) => void }) {
  const w = window(runs)
  if (!w.length) return null
  const longest = Math.max(1, ...w.map((r) => r.durationSeconds ?? 0))
  return (
    <div className="timeline" role="group" aria-label={`Run timeline: the last ${w.length} runs, ${countByResult(w.map((r) => r.result))}`}>
      {w.map((r) => {
        const d = r.durationSeconds ?? null
        const height = d === null || r.result === 'Missed' ? 12 : 12 + Math.round((88 * d) / longest)
        return (
          <button
            key={r.name}
            type="button"
            className={`bar mark-${tone(r.result)}${r.name === selected ? ' bar-selected' : ''}`}
            style={{ height: `${height}%` }}
            aria-label={`Open run ${markLabel(r)}`}
            aria-pressed={r.name === selected}
            title={markLabel(r)}
            onClick={() => onOpen(r.name)}
          />
        )
      })}
    </div>
  )
}

/** A line of values (oldest left) with the median drawn across; decorative, the caption says it all. */
function Sparkline({ stat }: { stat: Stat }) {
  const v = stat.values
  if (v.length < 2) return null
  const max = Math.max(1, ...v)
  const x = (i: number) => (i / (v.length - 1)) * 100
  const y = (n: number) => 30 - (n / max) * 28
  const points = v.map((n, i) => `${x(i).toFixed(1)},${y(n).toFixed(1)}`).join(' ')
  const median = stat.median ?? 0
  return (
    <svg viewBox="0 0 100 32" preserveAspectRatio="none" className="sparkline" aria-hidden="true">
      <line x1="0" x2="100" y1={y(median)} y2={y(median)} className="sparkline-median" />
      <polyline points={points} fill="none" />
    </svg>
  )
}

function describe(what: string, s: Stat): string {
  if (!s.count) return `${what}: no runs to measure yet.`
  return `${what}: median ${formatDuration(s.median)}, 95th percentile ${formatDuration(s.p95)} over the last ${s.count} runs.`
}

/** Duration and start-delay trends over the timeline's window. */
export function RunTrends({ runs }: { runs: Run[] }) {
  const t = trends(runs)
  return (
    <div className="trends">
      {(
        [
          ['Duration', t.duration],
          ['Start delay', t.startDelay],
        ] as const
      ).map(([what, s]) => (
        <figure key={what}>
          <Sparkline stat={s} />
          <figcaption>{describe(what, s)}</figcaption>
        </figure>
      ))}
    </div>
  )
}
