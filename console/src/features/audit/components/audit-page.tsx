import { useInfiniteQuery } from '@tanstack/react-query'
import { useState } from 'react'
import { api } from '../../../api/client'
import type { AuditAction, AuditChange, AuditPage as Page } from '../../../api/types'
import { Button, ErrorBox, Field, RelativeTime } from '../../../components/ui'
import { href } from '../../../router'

const ACTIONS: AuditAction[] = [
  'project.create',
  'project.delete',
  'application.create',
  'application.update',
  'application.delete',
  'cronjob.create',
  'cronjob.update',
  'cronjob.delete',
  'cronjob.suspend',
  'cronjob.resume',
  'run.start',
  'run.rerun',
  'run.cancel',
  'run.backfill',
  'alerts.update',
  'alerts.delete',
]

/** One change in words: `schedule: "0 3 * * *" → "0 4 * * *"`, or that a secret changed. */
export function describeChange(c: AuditChange): string {
  if (c.redacted) return `${c.field} changed`
  const show = (v: unknown) => JSON.stringify(v)
  if (c.from !== undefined && c.to !== undefined) return `${c.field}: ${show(c.from)} → ${show(c.to)}`
  if (c.to !== undefined) return `${c.field}: ${show(c.to)}`
  if (c.from !== undefined) return `${c.field}: ${show(c.from)} removed`
  return c.field
}

/** The audit log of a project: who changed what, newest first, filtered and paged. */
export function AuditPage({ project }: { project: string }) {
  const [action, setAction] = useState('')
  const [target, setTarget] = useState('')
  const query = useInfiniteQuery({
    queryKey: ['audit', project, action, target],
    initialPageParam: undefined as number | undefined,
    queryFn: ({ pageParam }) => {
      const q = new URLSearchParams({ limit: '50' })
      if (action) q.set('action', action)
      if (target.trim()) q.set('target', target.trim())
      if (pageParam !== undefined) q.set('before', String(pageParam))
      return api<Page>(`/projects/${encodeURIComponent(project)}/audit?${q}`)
    },
    getNextPageParam: (last) => last.nextBefore ?? undefined,
  })
  const entries = query.data?.pages.flatMap((p) => p.entries) ?? []
  return (
    <article>
      <nav aria-label="Breadcrumb">
        <a href={href({ page: 'project', project })}>{project}</a> / audit log
      </nav>
      <h1>Audit log</h1>
      <div className="filters">
        <Field label="Action">
          {(p) => (
            <select {...p} value={action} onChange={(e) => setAction(e.target.value)}>
              <option value="">Any action</option>
              {ACTIONS.map((a) => (
                <option key={a} value={a}>
                  {a}
                </option>
              ))}
            </select>
          )}
        </Field>
        <Field label="Target" hint="cronjob/nightly, or a kind: run/">
          {(p) => <input {...p} value={target} onChange={(e) => setTarget(e.target.value)} />}
        </Field>
      </div>
      <ErrorBox error={query.error} />
      {query.isPending && <p className="muted">Loading…</p>}
      {query.data && entries.length === 0 && <p className="muted">Nothing recorded.</p>}
      {entries.length > 0 && (
        <table className="list" aria-label="Audit log">
          <thead>
            <tr>
              <th scope="col">When</th>
              <th scope="col">Who</th>
              <th scope="col">Action</th>
              <th scope="col">Target</th>
              <th scope="col">Changes</th>
            </tr>
          </thead>
          <tbody>
            {entries.map((e) => (
              <tr key={e.id}>
                <td>
                  <RelativeTime at={e.at} />
                </td>
                <td>{e.actor}</td>
                <td className="mono">{e.action}</td>
                <td className="mono">{e.target}</td>
                <td>
                  {e.changes.length > 0 && (
                    <ul className="changes">
                      {e.changes.map((c) => (
                        <li key={c.field}>{describeChange(c)}</li>
                      ))}
                    </ul>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {query.hasNextPage && (
        <Button onClick={() => void query.fetchNextPage()} disabled={query.isFetchingNextPage}>
          Older entries
        </Button>
      )}
    </article>
  )
}
