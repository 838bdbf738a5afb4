import { useState } from 'react'
import { ApiError } from '../../../api/client'
import type { ApplyResult } from '../../../api/types'
import { Button, ErrorBox, Field } from '../../../components/ui'
import { useApplyFile, useExportFile } from '../api/hooks'
import { changeTitle, fieldLine, givenValues, missingValues, place } from '../project-file'

/** A project as a file: Export, and Import with a preview of what would change. */
export function ProjectFileSection({ project }: { project: string }) {
  return (
    <section aria-label="Project file">
      <h2>Project file</h2>
      <p className="muted">
        The project's applications and alert settings as one YAML file, to keep beside your code. From the command line:{' '}
        <code>hks export</code>, <code>hks diff -f FILE</code>, <code>hks apply -f FILE</code>.
      </p>
      <ExportFile project={project} />
      <ImportFile project={project} />
    </section>
  )
}

function ExportFile({ project }: { project: string }) {
  const exported = useExportFile(project)
  const text = exported.data
  return (
    <div>
      <Button onClick={() => exported.mutate()} disabled={exported.isPending}>
        Export
      </Button>
      <ErrorBox error={exported.error} />
      {text !== undefined && (
        <>
          <Field label="Exported project file" hint="Webhook URLs and secrets are written as where to read them, never as values.">
            {(p) => <textarea {...p} className="mono file" readOnly rows={14} value={text} />}
          </Field>
          <a href={`data:application/yaml;charset=utf-8,${encodeURIComponent(text)}`} download={`${project}.hks.yaml`}>
            Download {project}.hks.yaml
          </a>
        </>
      )}
    </div>
  )
}

function ImportFile({ project }: { project: string }) {
  const apply = useApplyFile(project)
  const [content, setContent] = useState('')
  const [prune, setPrune] = useState(false)
  const [values, setValues] = useState<Record<string, string>>({})
  const [asked, setAsked] = useState<string[]>([])
  const [preview, setPreview] = useState<{ key: string; result: ApplyResult } | null>(null)
  const [applied, setApplied] = useState<ApplyResult | null>(null)
  // What a preview was made of: Apply applies only what was previewed.
  const key = JSON.stringify({ content, prune, values: givenValues(values) })
  const run = (dryRun: boolean) => {
    setApplied(null)
    apply.mutate(
      { content, prune, dryRun, values: givenValues(values) },
      {
        onSuccess: (result) => {
          if (dryRun) setPreview({ key, result })
          else {
            setPreview(null)
            setApplied(result)
          }
        },
        onError: (e) => {
          setPreview(null)
          if (e instanceof ApiError) {
            const missing = missingValues(e.problems)
            setAsked((a) => [...a, ...missing.filter((m) => !a.includes(m))])
          }
        },
      },
    )
  }
  const error = apply.error
  const problems = error instanceof ApiError ? error.problems : []
  const current = preview && preview.key === key ? preview.result : null
  return (
    <form
      aria-label="Import a project file"
      onSubmit={(e) => {
        e.preventDefault()
        run(true)
      }}
    >
      <h3>Import with preview</h3>
      <Field label="Project file to import" hint="YAML, as Export writes it. Nothing changes until you apply the previewed changes.">
        {(p) => <textarea {...p} className="mono file" rows={14} value={content} onChange={(e) => setContent(e.target.value)} />}
      </Field>
      <Field label="Load from a file">
        {(p) => (
          <input
            {...p}
            type="file"
            accept=".yaml,.yml,application/yaml,text/yaml"
            onChange={async (e) => {
              const file = e.target.files?.[0]
              if (file) setContent(await file.text())
            }}
          />
        )}
      </Field>
      <label className="check">
        <input type="checkbox" checked={prune} onChange={(e) => setPrune(e.target.checked)} />
        Also delete what the file does not name (prune)
      </label>
      {asked.map((path) => (
        <Field key={path} label={`Value of ${path}`} hint="The file says where to read it; give it here. Left empty, the stored value is kept.">
          {(p) => (
            <input
              {...p}
              type="password"
              autoComplete="off"
              value={values[path] ?? ''}
              onChange={(e) => setValues((v) => ({ ...v, [path]: e.target.value }))}
            />
          )}
        </Field>
      ))}
      <div className="actions">
        <Button type="submit" disabled={apply.isPending || content.trim() === ''}>
          Preview changes
        </Button>
        <Button variant="primary" disabled={apply.isPending || !current || current.changes.length === 0} onClick={() => run(false)}>
          {current ? `Apply ${current.changes.length} change${current.changes.length === 1 ? '' : 's'}` : 'Apply changes'}
        </Button>
      </div>
      {problems.length > 0 ? (
        <div className="error-box" role="alert">
          <p>{error?.message.replace(/\.$/, '')}. Nothing was changed.</p>
          <ul aria-label="Problems in the file">
            {problems.map((p, i) => (
              <li key={i}>
                <code>{p.field || '(the file)'}</code>
                {place(p) && <span className="muted"> ({place(p)})</span>}: {p.message}
                {p.hint && <span className="muted"> {p.hint}</span>}
              </li>
            ))}
          </ul>
        </div>
      ) : (
        <ErrorBox error={error} />
      )}
      {current && <Changes result={current} label="Preview of the changes" />}
      {applied && (
        <p role="status" className="applied">
          Applied: {applied.summary}.
        </p>
      )}
    </form>
  )
}

function Changes({ result, label }: { result: ApplyResult; label: string }) {
  return (
    <section aria-label={label}>
      <p role="status">{result.summary}</p>
      <ul className="changes">
        {result.changes.map((c) => {
          const { mark, verb } = changeTitle(c)
          return (
            <li key={`${c.action} ${c.path}`} className={`change change-${c.action}`}>
              <span className="mono">
                {mark} {c.path}
              </span>{' '}
              <span className="muted">({verb})</span>
              {c.fields && c.fields.length > 0 && (
                <ul>
                  {c.fields.map((f) => (
                    <li key={f.path} className="mono">
                      {fieldLine(c, f)}
                    </li>
                  ))}
                </ul>
              )}
            </li>
          )
        })}
      </ul>
    </section>
  )
}
