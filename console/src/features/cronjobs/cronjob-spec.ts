// The CronJob form's saved spec as a pure function. The form shows only some
// of a CronJob's settings (no env, labels, resources or history retention, for
// example), so an edit starts from the spec as loaded and replaces just the
// fields the form owns: a setting the form has no control for survives the
// edit, and a form field the user clears is cleared.

import type { CronJobSpec } from '../../api/types'

/** The spec fields the form has controls for; it owns them entirely. */
export const FORM_FIELDS = [
  'schedule',
  'timeZone',
  'template',
  'image',
  'command',
  'function',
  'concurrencyPolicy',
  'timeoutSeconds',
  'retries',
  'startingDeadlineSeconds',
  'successfulJobsHistoryLimit',
  'failedJobsHistoryLimit',
] as const

/**
 * What the form says about its fields. A field left out (or undefined) is
 * one the user cleared, e.g. `command` when the override is unticked, or
 * `template` when an image is used instead.
 */
export type FormFields = Pick<CronJobSpec, (typeof FORM_FIELDS)[number]>

/**
 * The spec to save: `loaded` (the CronJob being edited; undefined for a new
 * one) with the form's fields replaced, every other field kept as it is.
 */
export function editedSpec(loaded: CronJobSpec | undefined, form: FormFields): CronJobSpec {
  const kept: Partial<CronJobSpec> = { ...loaded }
  for (const field of FORM_FIELDS) delete kept[field]
  // A Function call runs HKS's HTTP client, not a container of the user's:
  // the server refuses `env` next to `function`, and the form cannot show it.
  if (form.function) delete kept.env
  const set = Object.fromEntries(Object.entries(form).filter(([, v]) => v !== undefined && v !== null)) as FormFields
  return { ...kept, ...set }
}
