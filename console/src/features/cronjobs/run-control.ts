// Run control in words and request bodies: the one-off overrides of Run
// now from the dialog's fields, and how each run came about. Pure
// functions, tested in run-control.test.ts.

import type { EnvVar, Run, RunOverrides } from '../../api/types'

/** The dialog's fields, as typed. */
export type OverrideFields = {
  /** A shell script for this run (run by `sh -c`); empty keeps the CronJob's command. */
  command: string
  /** One `NAME=value` or `NAME=secret:SECRET/KEY` per line. */
  env: string
  /** Seconds; empty keeps the CronJob's timeout. */
  timeout: string
}

export const noOverrides: OverrideFields = { command: '', env: '', timeout: '' }

/**
 * The request body for Run now, or the problems with the fields (by field:
 * `env`, `timeoutSeconds`). Only what the server cannot see is checked here
 * (line syntax); the server checks the rest and names the field.
 */
export function overridesBody(f: OverrideFields): { body?: RunOverrides; problems: Record<string, string> } {
  const problems: Record<string, string> = {}
  const body: RunOverrides = {}
  if (f.command.trim()) body.command = { argv: [f.command.trim()], shell: true }
  const env: EnvVar[] = []
  f.env.split('\n').forEach((raw, i) => {
    const line = raw.trim()
    if (!line) return
    const eq = line.indexOf('=')
    if (eq <= 0) {
      problems.env = `line ${i + 1}: write NAME=value or NAME=secret:SECRET/KEY`
      return
    }
    const name = line.slice(0, eq)
    const value = line.slice(eq + 1)
    const secret = /^secret:([^/]+)\/(.+)$/.exec(value)
    env.push(secret ? { name, secret: { name: secret[1], key: secret[2] } } : { name, value })
  })
  if (env.length) body.env = env
  if (f.timeout.trim()) {
    const n = Number(f.timeout.trim())
    if (!Number.isInteger(n) || n < 1) problems.timeoutSeconds = 'a whole number of seconds, at least 1'
    else body.timeoutSeconds = n
  }
  return { body: Object.keys(body).length ? body : undefined, problems }
}

/** "Scheduled", "Manual by acme/ci", "Re-run of nightly-29", "Backfill by acme/ci". */
export function triggerLabel(r: Run): string {
  const by = r.triggeredBy ? ` by ${r.triggeredBy}` : ''
  switch (r.trigger) {
    case 'manual':
      return `Manual${by}`
    case 'rerun':
      return `Re-run of ${r.rerunOf ?? 'a run'}${by}`
    case 'backfill':
      return `Backfill${by}`
    default:
      return 'Scheduled'
  }
}

/** Whether a run can be repeated: anything that ran (a missed time never did). */
export function canRerun(r: Run): boolean {
  return r.result !== 'Missed'
}

/** Whether a missed time can still be run late (once, within a week). */
export function canBackfill(r: Run, now = Date.now()): boolean {
  if (r.result !== 'Missed' || r.backfilledBy || !r.scheduledAt) return false
  return now - new Date(r.scheduledAt).getTime() < 7 * 24 * 3600 * 1000
}
