// Derived state of runs and CronJobs: what badge to show and how to word a
// run's outcome. Pure functions, tested in run-health.test.ts.

import type { Tone } from '../../components/ui'
import type { CronJobSummary, Run, RunResult } from '../../api/types'

export function runTone(run: Run | null | undefined): Tone {
  return run ? resultTone(run.result) : 'idle'
}

/** The tone of a result: the badges' colours, and the marks' in the run charts. */
export function resultTone(result: RunResult): Tone {
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

/** "Succeeded", "Failed: OOMKilled (exit 137)", "Running", "Never run". */
export function runLabel(run: Run | null | undefined): string {
  if (!run) return 'Never run'
  if (run.result === 'Cancelled') return run.cancelledBy ? `Cancelled by ${run.cancelledBy}` : 'Cancelled'
  if (run.result !== 'Failed') return run.result
  const details = [run.reason, run.exitCode !== undefined && run.exitCode !== null ? `exit ${run.exitCode}` : '']
    .filter(Boolean)
    .join(', ')
  return details ? `Failed: ${details}` : 'Failed'
}

/** "1 h 2 min", "45 s". */
export function formatDuration(seconds: number | undefined | null): string {
  if (seconds === undefined || seconds === null) return '—'
  if (seconds < 60) return `${seconds} s`
  const h = Math.floor(seconds / 3600)
  const m = Math.floor((seconds % 3600) / 60)
  const s = seconds % 60
  if (h) return `${h} h ${m} min`
  return s ? `${m} min ${s} s` : `${m} min`
}

/** The state to show next to a CronJob's name. */
export function cronJobState(c: CronJobSummary): { tone: Tone; label: string } {
  if (c.suspended) return { tone: 'warn', label: 'Suspended' }
  if (c.active > 0) return { tone: 'busy', label: c.active === 1 ? 'Running' : `${c.active} running` }
  return { tone: 'ok', label: 'Active' }
}

/** The command a container will run, as one line. */
export function effectiveCommand(argv: string[], shell: boolean): string {
  if (shell) return `sh -c ${quote(argv.join(' '))}`
  return argv.map(quote).join(' ')
}

function quote(arg: string): string {
  return /^[\w@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replace(/'/g, `'\\''`)}'`
}
