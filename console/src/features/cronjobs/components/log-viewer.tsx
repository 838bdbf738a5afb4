import { useEffect, useState } from 'react'
import { streamText } from '../../../api/client'
import type { Run } from '../../../api/types'
import { ErrorBox } from '../../../components/ui'

/** The log of one attempt of a run; follows it while it runs. */
export function LogViewer({ project, cronjob, run }: { project: string; cronjob: string; run: Run }) {
  const [attempt, setAttempt] = useState(run.attempts.at(-1)?.pod ?? '')
  const [text, setText] = useState('')
  const [error, setError] = useState<unknown>(null)
  const running = run.result === 'Running' || run.result === 'Pending'
  useEffect(() => {
    const abort = new AbortController()
    setText('')
    setError(null)
    const q = new URLSearchParams({ follow: String(running), format: 'text' })
    if (attempt) q.set('attempt', attempt)
    const path = `/projects/${encodeURIComponent(project)}/cronjobs/${encodeURIComponent(cronjob)}/runs/${encodeURIComponent(run.name)}/logs?${q}`
    streamText(path, (chunk) => setText((t) => t + chunk), abort.signal).catch((e) => {
      if (!abort.signal.aborted) setError(e)
    })
    return () => abort.abort()
  }, [project, cronjob, run.name, attempt, running])
  return (
    <section aria-label={`Logs of ${run.name}`} className="logs">
      <h3>Logs of {run.name}</h3>
      {run.attempts.length > 1 && (
        <label>
          Attempt{' '}
          <select value={attempt} onChange={(e) => setAttempt(e.target.value)}>
            {run.attempts.map((a, i) => (
              <option key={a.pod} value={a.pod}>
                {i + 1}: {a.pod} {a.exitCode !== undefined ? `(exit ${a.exitCode})` : ''}
              </option>
            ))}
          </select>
        </label>
      )}
      <ErrorBox error={error} />
      <pre role="log" aria-live={running ? 'polite' : 'off'} tabIndex={0}>
        {text || (running ? 'Waiting for output…' : '(no output)')}
      </pre>
    </section>
  )
}
