// How a project file's changes and problems are shown: the same words as
// `hks diff` prints, as tested pure functions.

import type { Problem } from '../../api/client'
import type { Change, FieldChange } from '../../api/types'

/** The mark and verb of a change, as `hks diff` writes them. */
export function changeTitle(c: Change): { mark: '+' | '~' | '-'; verb: string } {
  if (c.action === 'create') return { mark: '+', verb: 'create' }
  if (c.action === 'delete') return { mark: '-', verb: 'delete' }
  return { mark: '~', verb: 'change' }
}

/** A field's path inside its change: `schedule` for `cronjobs.nightly.schedule`. */
export function relativeField(change: Change, field: FieldChange): string {
  const prefix = change.path
  if (field.path.startsWith(`${prefix}.`)) return field.path.slice(prefix.length + 1)
  if (field.path.startsWith(prefix)) return field.path.slice(prefix.length) || field.path
  return field.path
}

const shown = (v: unknown) => (v === undefined || v === null ? '(none)' : JSON.stringify(v))

/** One field that changes, for people. A secret's value is never shown: only
 * where it is read from. */
export function fieldLine(change: Change, f: FieldChange): string {
  const name = relativeField(change, f)
  const before = shown(f.before)
  const after = shown(f.after)
  if (f.secret) {
    return before === after
      ? `${name}: a new value from ${after} (values are never shown)`
      : `${name}: ${before} → ${after} (values are never shown)`
  }
  if (change.action === 'create') return `${name}: ${after}`
  return `${name}: ${before} → ${after}`
}

/** Where a problem is in the file: `line 7, column 5`, or nothing. */
export function place(p: Problem): string {
  return p.line && p.column ? `line ${p.line}, column ${p.column}` : ''
}

/** The paths of the references whose values the server asked for (a new
 * webhook's URL or secret): the console asks the person for them. */
export function missingValues(problems: Problem[]): string[] {
  return problems.filter((p) => p.code === 'secret_value_missing').map((p) => p.field)
}

/** The values typed so far, without the empty ones (an empty one keeps the
 * stored value, as a reference left unresolved does). */
export function givenValues(values: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(values).filter(([, v]) => v !== ''))
}
