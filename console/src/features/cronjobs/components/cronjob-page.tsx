import { useState } from 'react'
import type { Run } from '../../../api/types'
import { Badge, Button, ConfirmDialog, ErrorBox, Field, FormDialog, RelativeTime } from '../../../components/ui'
import { href, navigate } from '../../../router'
import { AlertsSection } from '../../alerts/components/alert-settings'
import { useBackfill, useCancelRun, useCronJob, useDeleteCronJob, useRerun, useRunNow, useRuns, useSetSuspended } from '../api/hooks'
import { canBackfill, canRerun, triggerLabel } from '../run-control'
import { cronJobState, effectiveCommand, formatDuration, runLabel, runTone } from '../run-health'
import { LogViewer } from './log-viewer'
import { RunTimeline, RunTrends } from './run-charts'
import { RunNowDialog } from './run-now-dialog'

/** One CronJob: its settings, runs, logs and day-2 actions. */
export function CronJobPage({ project, name }: { project: string; name: string }) {
  const cronjob = useCronJob(project, name)
  const runs = useRuns(project, name)
  const runNow = useRunNow(project)
  const suspend = useSetSuspended(project)
  const remove = useDeleteCronJob(project)
  const [confirmDelete, setConfirmDelete] = useState(false)
  const cancel = useCancelRun(project)
  const [confirmCancel, setConfirmCancel] = useState<string | null>(null)
  const [selected, setSelected] = useState<string | null>(null)
  const [overridesOpen, setOverridesOpen] = useState(false)
  const [suspendOpen, setSuspendOpen] = useState(false)
  const [reason, setReason] = useState('')
  const rerun = useRerun(project)
  const backfill = useBackfill(project)

  if (cronjob.isPending) return <p className="muted">Loading…</p>
  if (cronjob.error) return <ErrorBox error={cronjob.error} />
  const c = cronjob.data
  const state = cronJobState(c)
  const selectedRun = runs.data?.find((r) => r.name === selected) ?? null
  // Runs are newest first and polled more often than the CronJob itself.
  const lastRun = runs.data?.[0] ?? c.lastRun
  const command = c.spec.command ? effectiveCommand(c.spec.command.argv, c.spec.command.shell ?? false) : null
  const missed = runs.data?.filter((r) => canBackfill(r)) ?? []
  const started = (r: { name: string }) => setSelected(r.name)

  return (
    <article className="cronjob-page">
      <nav aria-label="Breadcrumb">
        <a href={href({ page: 'project', project })}>{project}</a> / {name}
      </nav>
      <header className="page-header">
        <h1>{c.name}</h1>
        <Badge tone={state.tone}>{state.label}</Badge>
        <div className="actions">
          <Button variant="primary" onClick={() => runNow.mutate(name, { onSuccess: started })} disabled={runNow.isPending}>
            Run now
          </Button>
          <Button onClick={() => setOverridesOpen(true)}>Run with changes…</Button>
          <Button
            onClick={() => (c.suspended ? suspend.mutate({ name, suspend: false }) : setSuspendOpen(true))}
            disabled={suspend.isPending}
          >
            {c.suspended ? 'Resume' : 'Suspend'}
          </Button>
          <Button onClick={() => navigate({ page: 'edit-cronjob', project, name })}>Edit</Button>
          <Button variant="danger" onClick={() => setConfirmDelete(true)}>
            Delete
          </Button>
        </div>
      </header>
      <ErrorBox error={runNow.error ?? suspend.error ?? remove.error ?? cancel.error ?? rerun.error ?? backfill.error} />
      {c.suspension && (
        <p className="notice" role="status">
          Suspended by {c.suspension.suspendedBy} <RelativeTime at={c.suspension.suspendedAt} />
          {c.suspension.reason ? `: ${c.suspension.reason}` : ''}
        </p>
      )}

      <dl className="facts">
        <dt>Schedule</dt>
        <dd>
          {c.description ?? c.schedule} <code>{c.schedule}</code>
          {c.expandedSchedule && (
            <>
              {' '}
              (runs as <code>{c.expandedSchedule}</code>)
            </>
          )}
        </dd>
        <dt>Next run</dt>
        <dd>{c.suspended ? 'Suspended' : c.nextRun ? <RelativeTime at={c.nextRun} /> : '—'}</dd>
        <dt>Last run</dt>
        <dd>
          <Badge tone={runTone(lastRun)}>{runLabel(lastRun)}</Badge>
        </dd>
        <dt>Task</dt>
        <dd>
          {c.spec.function ? (
            <>
              calls the Function <strong>{c.spec.function.name}</strong>
              {c.spec.function.method ? ` with ${c.spec.function.method}` : ''}; success is status {(c.spec.function.expect ?? ['2xx']).join(', ')}
            </>
          ) : c.template ? (
            <>
              from <strong>{c.template}</strong> ({c.templateMode === 'snapshot' ? 'snapshot' : 'follows the template'})
            </>
          ) : (
            <code>{c.container?.image ?? c.spec.image}</code>
          )}
        </dd>
        <dt>Command</dt>
        <dd>{command ? <code>{command}</code> : "the image's own"}</dd>
        <dt>Overlapping runs</dt>
        <dd>{c.spec.concurrencyPolicy ?? 'Forbid'}</dd>
        <dt>Timeout</dt>
        <dd>{formatDuration(c.spec.timeoutSeconds)}</dd>
        <dt>Retries</dt>
        <dd>{c.spec.retries}</dd>
      </dl>

      <section aria-label="Runs">
        <h2>Runs</h2>
        {missed.length > 0 && (
          <p>
            {missed.length === 1 ? '1 missed time' : `${missed.length} missed times`} in the past week.{' '}
            <Button
              onClick={() => backfill.mutate({ name, request: { missed: true } }, { onSuccess: (b) => b.runs[0] && started(b.runs[0]) })}
              disabled={backfill.isPending}
            >
              Run missed times
            </Button>
          </p>
        )}
        {runs.error && <ErrorBox error={runs.error} />}
        {runs.data && runs.data.length > 0 && (
          <>
            <RunTimeline runs={runs.data} selected={selected} onOpen={setSelected} />
            <RunTrends runs={runs.data} />
          </>
        )}
        {runs.data?.length === 0 && <p className="muted">No runs yet.</p>}
        {runs.data && runs.data.length > 0 && (
          <table className="list" aria-label="Runs">
            <thead>
              <tr>
                <th scope="col">Run</th>
                <th scope="col">Trigger</th>
                <th scope="col">Started</th>
                <th scope="col">Start delay</th>
                <th scope="col">Duration</th>
                <th scope="col">Result</th>
                <th scope="col">Exit code</th>
                <th scope="col">Reason</th>
                <th scope="col">
                  <span className="sr-only">Logs</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {runs.data.map((r: Run) => (
                <tr key={r.name} aria-selected={r.name === selected}>
                  <td className="mono">{r.name}</td>
                  <td>{triggerLabel(r)}</td>
                  <td>
                    {r.startedAt ? (
                      <RelativeTime at={r.startedAt} />
                    ) : r.scheduledAt ? (
                      <>
                        due <RelativeTime at={r.scheduledAt} />
                      </>
                    ) : (
                      '—'
                    )}
                  </td>
                  <td
                    title={
                      r.startDelay
                        ? `Scheduled to Job: ${r.startDelay.toJobSeconds} s; Job to container: ${r.startDelay.toContainerSeconds} s`
                        : undefined
                    }
                  >
                    {formatDuration(r.startDelaySeconds)}
                  </td>
                  <td>{formatDuration(r.durationSeconds)}</td>
                  <td>
                    <Badge tone={runTone(r)}>{r.result}</Badge>
                    {!r.inCluster && r.result !== 'Missed' && (
                      <span className="muted" title="Kubernetes deleted this run's Job; HKS kept the run and its logs.">
                        {' '}
                        kept by HKS
                      </span>
                    )}
                    {r.backfilledBy && <span className="muted"> backfilled by {r.backfilledBy}</span>}
                  </td>
                  <td>{r.exitCode ?? '—'}</td>
                  <td title={r.message ?? undefined}>{r.reason ?? (r.result === 'Missed' ? 'Not started' : '')}</td>
                  <td>
                    {r.result !== 'Missed' && (
                      <Button aria-label={`Show logs of ${r.name}`} onClick={() => setSelected(r.name)}>
                        Logs
                      </Button>
                    )}
                    {canRerun(r) && (
                      <Button aria-label={`Re-run ${r.name}`} onClick={() => rerun.mutate({ name, run: r.name }, { onSuccess: started })} disabled={rerun.isPending}>
                        Re-run
                      </Button>
                    )}
                    {canBackfill(r) && r.scheduledAt && (
                      <Button
                        aria-label={`Run the missed time of ${r.name} now`}
                        onClick={() =>
                          backfill.mutate(
                            { name, request: { scheduledTimes: [r.scheduledAt as string] } },
                            { onSuccess: (b) => b.runs[0] && started(b.runs[0]) },
                          )
                        }
                        disabled={backfill.isPending}
                      >
                        Run it now
                      </Button>
                    )}
                    {(r.result === 'Running' || r.result === 'Pending') && !r.cancelledBy && (
                      <Button aria-label={`Cancel run ${r.name}`} onClick={() => setConfirmCancel(r.name)}>
                        Cancel
                      </Button>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </section>
      {selectedRun && <LogViewer key={selectedRun.name + selectedRun.result} project={project} cronjob={name} run={selectedRun} />}

      <AlertsSection project={project} cronjob={name} />

      <RunNowDialog project={project} cronjob={c} open={overridesOpen} onClose={() => setOverridesOpen(false)} onStarted={started} />

      <FormDialog
        open={suspendOpen}
        title={`Suspend ${name}?`}
        submitLabel="Suspend"
        busy={suspend.isPending}
        onCancel={() => setSuspendOpen(false)}
        onSubmit={() =>
          suspend.mutate(
            { name, suspend: true, reason },
            {
              onSuccess: () => {
                setSuspendOpen(false)
                setReason('')
              },
            },
          )
        }
      >
        <p>No scheduled run starts until it is resumed; a run that is going goes on.</p>
        <Field label="Reason (optional)" hint="Shown with the CronJob until it is resumed.">
          {(p) => <input {...p} maxLength={500} value={reason} onChange={(e) => setReason(e.target.value)} />}
        </Field>
      </FormDialog>

      <ConfirmDialog
        open={confirmCancel !== null}
        title={`Cancel run ${confirmCancel ?? ''}?`}
        confirmLabel="Cancel run"
        onCancel={() => setConfirmCancel(null)}
        onConfirm={() => {
          if (confirmCancel) cancel.mutate({ name, run: confirmCancel }, { onSettled: () => setConfirmCancel(null) })
        }}
      >
        Its pods are stopped now; the run ends as Cancelled.
      </ConfirmDialog>

      <ConfirmDialog
        open={confirmDelete}
        title={`Delete ${name}?`}
        confirmLabel="Delete CronJob"
        onCancel={() => setConfirmDelete(false)}
        onConfirm={() =>
          remove.mutate(name, {
            onSuccess: () => navigate({ page: 'project', project }),
            onSettled: () => setConfirmDelete(false),
          })
        }
      >
        <p>The CronJob, its Jobs and their pods are deleted from the cluster. This cannot be undone.</p>
      </ConfirmDialog>
    </article>
  )
}
