import { useEffect, useState } from 'react'
import { streamText } from '../../../api/client'
import type { Run } from '../../../api/types'
import { ErrorBox } from '../../../components/ui'
import { useRunLogs } from '../api/hooks'

/** The logs of a run, attempt by attempt; follows the latest attempt while it runs. */
export function LogViewer({ project, cronjob, run }: { project: string; cronjob: string; run: Run }) {
  const running = run.result === 'Running' || run.result === 'Pending'
  const [attempt, setAttempt] = useState(run.attempts.at(-1)?.pod ?? '')
  const archived = useRunLogs(project, cronjob, run.name, !running)
  const [followed, setFollowed] = useState('')
  const [error, setError] = useState<unknown>(null)

  useEffect(() => {
    if (!running || !attempt) return
    const abort = new AbortController()
    setFollowed('')
    setError(null)
    const q = new URLSearchParams({ follow: 'true', attempt })
    const path = `/projects/${encodeURIComponent(project)}/cronjobs/${encodeURIComponent(cronjob)}/runs/${encodeURIComponent(run.name)}/logs?${q}`
    streamText(path, (chunk) => setFollowed((t) => t + chunk), abort.signal).catch((e) => {
      if (!abort.signal.aborted) setError(e)
    })
    return () => abort.abort()
  }, [project, cronjob, run.name, attempt, running])

  const attempts = archived.data?.attempts ?? []
  const shown = attempts.find((a) => a.pod === attempt) ?? attempts.at(-1)
  const text = running ? followed : shown?.log ?? ''
  const pods = running ? run.attempts.map((a) => a.pod) : attempts.map((a) => a.pod)
  return (
    <section aria-label={`Logs of ${run.name}`} className="logs">
      <h3>Logs of {run.name}</h3>
      {pods.length > 1 && (
        <label>
          Attempt{' '}
          <select value={attempt} onChange={(e) => setAttempt(e.target.value)}>
            {pods.map((pod, i) => (
              <option key={pod} value={pod}>
                {i + 1}: {pod}
              </option>
            ))}
          </select>
        </label>
      )}
      {!running && shown?.archived && (
        <p className="muted">
          From HKS&apos;s run history: Kubernetes no longer has this attempt.
          {shown.truncated && ' The log was long, so HKS kept its beginning and its end (the cut is marked).'}
        </p>
      )}
      <ErrorBox error={error ?? archived.error} />
      <pre role="log" aria-live={running ? 'polite' : 'off'} tabIndex={0}>
        {text || (running ? 'Waiting for output…' : archived.isPending ? 'Loading…' : '(no output)')}
      </pre>
    </section>
  )
}
