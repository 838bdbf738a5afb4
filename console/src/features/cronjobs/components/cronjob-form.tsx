import { CRONJOB_DEFAULTS } from '../../../api/defaults'
import { useCallback, useMemo, useState } from 'react'
import { ApiError } from '../../../api/client'
import type { CronJobSpec, CronJobView, EnvVar, FunctionSpec, HttpHeader, StatelessSpec } from '../../../api/types'
import { Button, ErrorBox, Field } from '../../../components/ui'
import { navigate } from '../../../router'
import { useApplications } from '../../projects/api/hooks'
import { ScheduleEditor, browserTimeZone } from '../../schedule/components/schedule-editor'
import { useManifestPreview, useSaveCronJob } from '../api/hooks'
import { editedSpec } from '../cronjob-spec'
import { type FunctionCallInput, fromFunctionCall, toFunctionCall, worstCaseSeconds } from '../function-call'
import { effectiveCommand } from '../run-health'

/** `fromFunction`: a new CronJob that calls a Function (the form's other mode). */
type Props = { project: string; existing?: CronJobView; fromFunction?: boolean }

/** Create or edit a CronJob application: a container of the user's, or a call of a Function. */
export function CronJobForm({ project, existing, fromFunction }: Props) {
  const templates = useApplications(project, 'stateless')
  const functions = useApplications(project, 'function')
  const save = useSaveCronJob(project)
  const manifest = useManifestPreview(project)
  const spec0 = existing?.spec
  const [name, setName] = useState(existing?.name ?? '')
  const [template, setTemplate] = useState(spec0?.template?.application ?? '')
  const [mode, setMode] = useState(spec0?.template?.mode ?? 'follow')
  const [image, setImage] = useState(spec0?.image ?? '')
  const [override, setOverride] = useState(!!spec0?.command)
  const [argv, setArgv] = useState<string[]>(spec0?.command?.argv ?? [''])
  const [shell, setShell] = useState(spec0?.command?.shell ?? false)
  const [schedule, setSchedule] = useState(spec0?.schedule ?? '0 9 * * MON')
  const [timeZone, setTimeZone] = useState(spec0?.timeZone ?? browserTimeZone())
  const [concurrency, setConcurrency] = useState(spec0?.concurrencyPolicy ?? CRONJOB_DEFAULTS.concurrencyPolicy)
  const [timeout, setTimeoutSeconds] = useState(spec0?.timeoutSeconds ?? CRONJOB_DEFAULTS.timeoutSeconds)
  const [retries, setRetries] = useState(spec0?.retries ?? CRONJOB_DEFAULTS.retries)
  const [deadline, setDeadline] = useState(spec0?.startingDeadlineSeconds ?? CRONJOB_DEFAULTS.startingDeadlineSeconds)
  const [keepOk, setKeepOk] = useState(spec0?.successfulJobsHistoryLimit ?? CRONJOB_DEFAULTS.successfulJobsHistoryLimit)
  const [keepFailed, setKeepFailed] = useState(spec0?.failedJobsHistoryLimit ?? CRONJOB_DEFAULTS.failedJobsHistoryLimit)
  const [kind, setKind] = useState<'container' | 'function'>(spec0 ? (spec0.function ? 'function' : 'container') : fromFunction ? 'function' : 'container')
  const [call, setCall] = useState<FunctionCallInput>(() => fromFunctionCall(spec0?.function))
  const setCallField = useCallback(<K extends keyof FunctionCallInput>(k: K, v: FunctionCallInput[K]) => setCall((c) => ({ ...c, [k]: v })), [])
  const chosenFunction = functions.data?.find((a) => a.name === call.name)?.spec as FunctionSpec | undefined

  const chosen = templates.data?.find((a) => a.name === template)
  const source = chosen?.spec as StatelessSpec | undefined

  // An edit keeps every setting the form has no control for (env, labels,
  // resources, history retention, suspend...): see editedSpec.
  const spec: CronJobSpec = useMemo(
    () =>
      editedSpec(spec0, {
        schedule,
        timeZone,
        ...(kind === 'function'
          ? { function: toFunctionCall(call) }
          : {
              ...(template ? { template: { application: template, mode } } : { image }),
              ...(override ? { command: { argv: argv.filter((a, i) => a !== '' || i === 0), shell } } : {}),
            }),
        concurrencyPolicy: concurrency,
        timeoutSeconds: timeout,
        retries,
        startingDeadlineSeconds: deadline,
        successfulJobsHistoryLimit: keepOk,
        failedJobsHistoryLimit: keepFailed,
      }),
    [spec0, kind, call, schedule, timeZone, template, mode, image, override, argv, shell, concurrency, timeout, retries, deadline, keepOk, keepFailed],
  )

  const onSchedule = useCallback((s: string, z: string) => {
    setSchedule(s)
    setTimeZone(z)
  }, [])

  const fieldError = (field: string) => (save.error instanceof ApiError ? save.error.forField(field) : null)

  const inheritedCommand = source ? [...(source.command ?? []), ...(source.args ?? [])] : []
  const title = existing ? `Edit ${existing.name}` : kind === 'function' ? 'New CronJob from a Function' : 'New CronJob'

  return (
    <form
      className="cronjob-form"
      aria-label={title}
      onSubmit={(e) => {
        e.preventDefault()
        save.mutate(
          { name, spec, existing: !!existing },
          { onSuccess: () => navigate({ page: 'cronjob', project, name }) },
        )
      }}
    >
      <h1>{title}</h1>
      <Field label="Name" hint="Lower-case letters, digits and '-', at most 52 characters." error={fieldError('name')}>
        {(p) => (
          <input {...p} value={name} disabled={!!existing} autoComplete="off" onChange={(e) => setName(e.target.value)} />
        )}
      </Field>

      <fieldset>
        <legend>What runs</legend>
        <label className="check">
          <input type="radio" name="kind" value="container" checked={kind === 'container'} onChange={() => setKind('container')} />
          A container of your own: from one of this project's Stateless applications, or an image
        </label>
        <label className="check">
          <input type="radio" name="kind" value="function" checked={kind === 'function'} onChange={() => setKind('function')} />
          A call of a Function: HKS sends the HTTP request; a status you do not expect fails the run
        </label>
      </fieldset>

      {kind === 'function' ? (
        <FunctionCallFields
          call={call}
          set={setCallField}
          functions={functions.data?.map((a) => a.name) ?? []}
          chosen={chosenFunction}
          runTimeout={timeout}
          fieldError={fieldError}
        />
      ) : (
        <>
          <fieldset>
            <legend>Task</legend>
            <Field label="Template application" hint="Run a task from one of this project's Stateless applications: its image, environment and resources.">
              {(p) => (
                <select {...p} value={template} onChange={(e) => setTemplate(e.target.value)}>
                  <option value="">None: use an image</option>
                  {templates.data?.map((a) => (
                    <option key={a.name} value={a.name}>
                      {a.name}
                    </option>
                  ))}
                </select>
              )}
            </Field>
            {template ? (
              <>
                <Field label="When the template changes" hint="Follow: later changes to the template apply to this job. Snapshot: keep what it is now.">
                  {(p) => (
                    <select {...p} value={mode} onChange={(e) => setMode(e.target.value as 'follow' | 'snapshot')}>
                      <option value="follow">Follow the template</option>
                      <option value="snapshot">Keep a snapshot</option>
                    </select>
                  )}
                </Field>
                {source && <TemplateSummary name={template} spec={source} />}
              </>
            ) : (
              <Field label="Image" hint="e.g. hks.local/busybox:1" error={fieldError('spec.image')}>
                {(p) => <input {...p} value={image} autoComplete="off" onChange={(e) => setImage(e.target.value)} />}
              </Field>
            )}
          </fieldset>

          <fieldset>
            <legend>Command</legend>
            <label className="check">
              <input type="checkbox" checked={override} onChange={(e) => setOverride(e.target.checked)} />
              Override the command for this job
            </label>
            {override ? (
              <>
                <ArgvEditor argv={argv} onChange={setArgv} />
                <label className="check">
                  <input type="checkbox" checked={shell} onChange={(e) => setShell(e.target.checked)} />
                  Run through a shell (sh -c), for pipes, &&, and variables
                </label>
                <p className="hint">
                  Effective command: <code>{effectiveCommand(argv.filter(Boolean), shell) || '—'}</code>
                </p>
              </>
            ) : (
              <p className="hint">
                Runs the image's own command{inheritedCommand.length ? <>: <code>{effectiveCommand(inheritedCommand, false)}</code></> : ''}.
              </p>
            )}
            {fieldError('spec.command') && <p className="error" role="alert">{fieldError('spec.command')}</p>}
          </fieldset>
        </>
      )}

      <ScheduleEditor
        schedule={schedule}
        timeZone={timeZone}
        onChange={onSchedule}
        serverError={fieldError('spec.schedule') ?? fieldError('spec.timeZone')}
        identity={{ project, name }}
      />

      <details>
        <summary>Advanced settings</summary>
        <Field label="Overlapping runs" hint="Forbid skips a run while the previous one is still running; Replace stops the old one; Allow runs both.">
          {(p) => (
            <select {...p} value={concurrency} onChange={(e) => setConcurrency(e.target.value as 'Allow' | 'Forbid' | 'Replace')}>
              <option value="Forbid">Forbid</option>
              <option value="Replace">Replace</option>
              <option value="Allow">Allow</option>
            </select>
          )}
        </Field>
        <NumberField label="Timeout (seconds)" hint="A run still going after this is stopped and marked failed (DeadlineExceeded)." value={timeout} min={1} onChange={setTimeoutSeconds} error={fieldError('spec.timeoutSeconds')} />
        <NumberField label="Retries" hint="How many times a failed run is retried, each in a new pod, before the run fails." value={retries} min={0} onChange={setRetries} error={fieldError('spec.retries')} />
        <NumberField label="Starting deadline (seconds)" hint="A run that cannot start within this long after its time (cluster down, previous run still going) is skipped and reported as missed." value={deadline} min={0} onChange={setDeadline} error={fieldError('spec.startingDeadlineSeconds')} />
        <NumberField label="Successful runs kept in the cluster" hint="HKS keeps the history and logs itself; this is how many finished Jobs Kubernetes keeps." value={keepOk} min={0} onChange={setKeepOk} />
        <NumberField label="Failed runs kept in the cluster" hint="Failed Jobs kept by Kubernetes, with their pods, for inspection." value={keepFailed} min={0} onChange={setKeepFailed} />
      </details>

      <section aria-label="Manifest preview">
        <Button onClick={() => manifest.mutate({ name, spec })}>Preview manifest</Button>
        <ErrorBox error={manifest.error} />
        {manifest.data !== undefined && <pre className="manifest">{JSON.stringify(manifest.data, null, 2)}</pre>}
      </section>

      <ErrorBox error={save.error} />
      <div className="actions">
        <Button type="submit" variant="primary" disabled={save.isPending}>
          {existing ? 'Save changes' : 'Create CronJob'}
        </Button>
      </div>
    </form>
  )
}

const METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD']

/** The "call a Function" mode: which Function, and how to call it. */
function FunctionCallFields({
  call,
  set,
  functions,
  chosen,
  runTimeout,
  fieldError,
}: {
  call: FunctionCallInput
  set: <K extends keyof FunctionCallInput>(k: K, v: FunctionCallInput[K]) => void
  functions: string[]
  chosen: FunctionSpec | undefined
  runTimeout: number
  fieldError: (field: string) => string | null
}) {
  const worst = worstCaseSeconds(call)
  const setHeader = (i: number, h: HttpHeader) => set('headers', call.headers.map((x, j) => (j === i ? h : x)))
  const headerError = (i: number) => fieldError(`spec.function.headers[${i}].name`) ?? fieldError(`spec.function.headers[${i}].value`)
  return (
    <fieldset>
      <legend>Function call</legend>
      <Field label="Function" hint="A Function of this project. Later changes of its endpoint or token reach this job." error={fieldError('spec.function.name')}>
        {(p) => (
          <select {...p} value={call.name} onChange={(e) => set('name', e.target.value)}>
            <option value="">Choose a Function</option>
            {functions.map((f) => (
              <option key={f} value={f}>
                {f}
              </option>
            ))}
          </select>
        )}
      </Field>
      {chosen && (
        <p className="hint">
          Calls <code>{chosen.endpoint}</code>
          {chosen.tokenSecret ? (
            <>
              {' '}
              with the bearer token from Secret <code>{`${chosen.tokenSecret.name}/${chosen.tokenSecret.key}`}</code>, mounted as a file and never shown
            </>
          ) : null}
          .
        </p>
      )}
      <Field label="Method" hint="Leave it to use the Function's own method." error={fieldError('spec.function.method')}>
        {(p) => (
          <select {...p} value={call.method} onChange={(e) => set('method', e.target.value)}>
            <option value="">{`The Function's method${chosen?.method ? ` (${chosen.method})` : ''}`}</option>
            {METHODS.map((m) => (
              <option key={m} value={m}>
                {m}
              </option>
            ))}
          </select>
        )}
      </Field>
      <fieldset className="argv">
        <legend>Headers</legend>
        <p className="hint">
          Visible in the CronJob: never put a secret here (give the Function a token Secret). HKS adds X-HKS-Execution-Id, the run's name, so the Function can
          drop duplicates.
        </p>
        {call.headers.map((h, i) => (
          <div key={i} className="argv-row">
            <label>
              {`Header ${i + 1} name`}
              <input className="mono" value={h.name} autoComplete="off" spellCheck={false} onChange={(e) => setHeader(i, { ...h, name: e.target.value })} />
            </label>
            <label>
              {`Header ${i + 1} value`}
              <input className="mono" value={h.value} autoComplete="off" spellCheck={false} onChange={(e) => setHeader(i, { ...h, value: e.target.value })} />
            </label>
            <Button aria-label={`Remove header ${i + 1}`} onClick={() => set('headers', call.headers.filter((_, j) => j !== i))}>
              Remove
            </Button>
            {headerError(i) && (
              <p className="error" role="alert">
                {headerError(i)}
              </p>
            )}
          </div>
        ))}
        <Button onClick={() => set('headers', [...call.headers, { name: '', value: '' }])}>Add header</Button>
      </fieldset>
      <Field label="Body" hint="Sent as is; leave it empty to send none." error={fieldError('spec.function.body')}>
        {(p) => <textarea {...p} className="mono" rows={3} value={call.body} spellCheck={false} onChange={(e) => set('body', e.target.value)} />}
      </Field>
      <Field
        label="Expected status"
        hint="Status codes or classes that mean success, separated by commas, e.g. 200,204 or 2xx,404. Empty: any 2xx. Any other status fails the run."
        error={fieldError('spec.function.expect') ?? fieldError('spec.function.expect[0]')}
      >
        {(p) => <input {...p} className="mono" value={call.expect} autoComplete="off" onChange={(e) => set('expect', e.target.value)} />}
      </Field>
      <NumberField
        label="Request timeout (seconds)"
        hint="Time allowed for each request."
        value={call.requestTimeoutSeconds}
        min={1}
        onChange={(n) => set('requestTimeoutSeconds', n)}
        error={fieldError('spec.function.requestTimeoutSeconds')}
      />
      <NumberField
        label="Request retries"
        hint="Requests repeated within a run after a network error, 408, 429 or 5xx. The run's own Retries then start a new pod."
        value={call.retries}
        min={0}
        onChange={(n) => set('retries', n)}
        error={fieldError('spec.function.retries')}
      />
      <NumberField
        label="Backoff (seconds)"
        hint="Wait before the first repeated request; it doubles each time."
        value={call.backoffSeconds}
        min={0}
        onChange={(n) => set('backoffSeconds', n)}
        error={fieldError('spec.function.backoffSeconds')}
      />
      <p className={Number.isFinite(worst) && worst > runTimeout ? 'error' : 'hint'}>
        At worst the requests take {Number.isFinite(worst) ? worst : '—'} s; the run's timeout (advanced settings) is {runTimeout} s.
      </p>
    </fieldset>
  )
}

function NumberField({ label, hint, value, min, onChange, error }: { label: string; hint: string; value: number; min: number; onChange: (n: number) => void; error?: string | null }) {
  return (
    <Field label={label} hint={hint} error={error}>
      {(p) => <input {...p} type="number" min={min} value={Number.isNaN(value) ? '' : value} onChange={(e) => onChange(e.target.valueAsNumber)} />}
    </Field>
  )
}

/** One input per argument, so spaces and quotes need no escaping. */
function ArgvEditor({ argv, onChange }: { argv: string[]; onChange: (a: string[]) => void }) {
  return (
    <fieldset className="argv">
      <legend>Command and arguments</legend>
      {argv.map((arg, i) => (
        <div key={i} className="argv-row">
          <label>
            {i === 0 ? 'Command' : `Argument ${i}`}
            <input className="mono" value={arg} autoComplete="off" spellCheck={false} onChange={(e) => onChange(argv.map((a, j) => (j === i ? e.target.value : a)))} />
          </label>
          {i > 0 && (
            <Button aria-label={`Remove argument ${i}`} onClick={() => onChange(argv.filter((_, j) => j !== i))}>
              Remove
            </Button>
          )}
        </div>
      ))}
      <Button onClick={() => onChange([...argv, ''])}>Add argument</Button>
    </fieldset>
  )
}

function envText(e: EnvVar): string {
  return e.secret ? `from secret ${e.secret.name}/${e.secret.key}` : (e.value ?? '')
}

function TemplateSummary({ name, spec }: { name: string; spec: StatelessSpec }) {
  return (
    <div className="template-summary" aria-label={`From template ${name}`}>
      <p>
        Image <code>{spec.image}</code> <span className="muted">(from {name})</span>
      </p>
      {spec.env && spec.env.length > 0 && (
        <table>
          <caption>Environment from {name}</caption>
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Value</th>
            </tr>
          </thead>
          <tbody>
            {spec.env.map((e) => (
              <tr key={e.name}>
                <td className="mono">{e.name}</td>
                <td>{envText(e)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {spec.resources && (
        <p>
          Resources: requests {spec.resources.requests?.cpu ?? '—'} CPU, {spec.resources.requests?.memory ?? '—'} memory; limits{' '}
          {spec.resources.limits?.cpu ?? '—'} CPU, {spec.resources.limits?.memory ?? '—'} memory <span className="muted">(from {name})</span>
        </p>
      )}
    </div>
  )
}
