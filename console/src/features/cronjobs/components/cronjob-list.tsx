import type { CronJobSummary } from '../../../api/types'
import { Badge, Button, ErrorBox, RelativeTime } from '../../../components/ui'
import { href } from '../../../router'
import { useCronJobs, useRunNow } from '../api/hooks'
import { cronJobState, runLabel, runTone } from '../run-health'
import { HistoryStrip } from './run-charts'

/** The CronJobs of a project with their schedule, next and last run. */
export function CronJobList({ project }: { project: string }) {
  const cronjobs = useCronJobs(project)
  const runNow = useRunNow(project)
  if (cronjobs.isPending) return <p className="muted">Loading CronJobs…</p>
  if (cronjobs.error) return <ErrorBox error={cronjobs.error} />
  if (!cronjobs.data?.length) return <p className="muted">No CronJobs yet.</p>
  return (
    <>
      <ErrorBox error={runNow.error} />
      <table className="list" aria-label="CronJobs">
        <thead>
          <tr>
            <th scope="col">Name</th>
            <th scope="col">Schedule</th>
            <th scope="col">Next run</th>
            <th scope="col">Last run</th>
            <th scope="col">State</th>
            <th scope="col">
              <span className="sr-only">Actions</span>
            </th>
          </tr>
        </thead>
        <tbody>
          {cronjobs.data.map((c: CronJobSummary) => {
            const state = cronJobState(c)
            return (
              <tr key={c.name}>
                <td>
                  <a href={href({ page: 'cronjob', project, name: c.name })}>{c.name}</a>
                </td>
                <td>
                  {c.description ?? c.schedule}
                  <div className="muted mono">
                    {c.schedule}
                    {c.expandedSchedule && ` = ${c.expandedSchedule}`}
                  </div>
                </td>
                <td>
                  {c.suspended ? (
                    <span className="muted" title={c.suspension ? `by ${c.suspension.suspendedBy}` : undefined}>
                      suspended{c.suspension?.reason ? `: ${c.suspension.reason}` : ''}
                    </span>
                  ) : c.nextRun ? (
                    <RelativeTime at={c.nextRun} />
                  ) : (
                    '—'
                  )}
                </td>
                <td>
                  <Badge tone={runTone(c.lastRun)}>{runLabel(c.lastRun)}</Badge>
                  {c.lastRun?.startedAt && (
                    <div>
                      <RelativeTime at={c.lastRun.startedAt} />
                    </div>
                  )}
                  <HistoryStrip cronjob={c.name} marks={c.recent ?? []} />
                </td>
                <td>
                  <Badge tone={state.tone}>{state.label}</Badge>
                </td>
                <td>
                  <Button aria-label={`Run ${c.name} now`} onClick={() => runNow.mutate(c.name)} disabled={runNow.isPending}>
                    Run now
                  </Button>
                </td>
              </tr>
            )
          })}
        </tbody>
      </table>
    </>
  )
}
