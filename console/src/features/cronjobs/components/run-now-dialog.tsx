import { useState } from 'react'
import { ApiError } from '../../../api/client'
import type { CronJobView, Run } from '../../../api/types'
import { ErrorBox, Field, FormDialog } from '../../../components/ui'
import { useRunWith } from '../api/hooks'
import { effectiveCommand } from '../run-health'
import { type OverrideFields, noOverrides, overridesBody } from '../run-control'

/**
 * Run now with one-off overrides: this run's command, environment and
 * timeout; the CronJob is not changed. Shows the command the run will
 * execute. A CronJob that calls a Function runs HKS's HTTP client, whose
 * command and environment cannot change: only the timeout is offered.
 */
export function RunNowDialog({
  project,
  cronjob,
  open,
  onClose,
  onStarted,
}: {
  project: string
  cronjob: CronJobView
  open: boolean
  onClose: () => void
  onStarted: (run: Run) => void
}) {
  const [fields, setFields] = useState<OverrideFields>(noOverrides)
  const run = useRunWith(project)
  const { body, problems } = overridesBody(fields)
  const serverError = run.error instanceof ApiError ? run.error : null
  const configured = cronjob.container?.command?.length
    ? effectiveCommand([...(cronjob.container.command ?? []), ...(cronjob.container.args ?? [])], false)
    : "the image's own command"
  const effective = fields.command.trim() ? effectiveCommand([fields.command.trim()], true) : configured
  const callsFunction = Boolean(cronjob.spec.function)
  const set = (k: keyof OverrideFields) => (e: { target: { value: string } }) => setFields({ ...fields, [k]: e.target.value })
  const close = () => {
    setFields(noOverrides)
    run.reset()
    onClose()
  }
  return (
    <FormDialog
      open={open}
      title={`Run ${cronjob.name} now`}
      submitLabel="Start run"
      busy={run.isPending || Object.keys(problems).length > 0}
      onCancel={close}
      onSubmit={() =>
        run.mutate(
          { name: cronjob.name, overrides: body },
          {
            onSuccess: (r) => {
              close()
              onStarted(r)
            },
          },
        )
      }
    >
      <p className="muted">Changes apply to this run only; the CronJob stays as it is.</p>
      {!callsFunction && (
        <>
          <Field label="Command for this run" hint="A shell script (run by sh -c); empty keeps the CronJob's command." error={serverError?.forField('command') ?? null}>
            {(p) => <textarea {...p} rows={2} value={fields.command} onChange={set('command')} />}
          </Field>
          <Field
            label="Environment for this run"
            hint="One NAME=value per line, or NAME=secret:SECRET/KEY; replaces a variable of the same name."
            error={problems.env ?? serverError?.forField('env') ?? null}
          >
            {(p) => <textarea {...p} rows={3} value={fields.env} onChange={set('env')} />}
          </Field>
        </>
      )}
      <Field label="Timeout for this run (seconds)" hint={`Empty keeps ${cronjob.spec.timeoutSeconds ?? 3600} s.`} error={problems.timeoutSeconds ?? serverError?.forField('timeoutSeconds') ?? null}>
        {(p) => <input {...p} inputMode="numeric" value={fields.timeout} onChange={set('timeout')} />}
      </Field>
      {!callsFunction && (
        <p>
          Runs: <code aria-label="Effective command">{effective}</code>
        </p>
      )}
      {serverError && serverError.problems.length === 0 && <ErrorBox error={serverError} />}
      {run.error && !serverError && <ErrorBox error={run.error} />}
    </FormDialog>
  )
}
