import { useId, useState } from 'react'
import { ApiError } from '../../../api/client'
import type { AlertSettingsView } from '../../../api/types'
import { Badge, Button, ErrorBox, Field, RelativeTime } from '../../../components/ui'
import { type AlertForm, answerLabel, bodyFrom, deliveryLabel, destinationChoices, formFrom, withDestination } from '../alert-form'
import { useAlertHistory, useAlertSettings, useDeleteAlertSettings, useSaveAlertSettings, useTestAlert } from '../api/hooks'

/** Alerts of a CronJob, or the project's default when `cronjob` is undefined:
 *  the rules, where alerts go (a webhook, Slack, Teams, email), a test
 *  delivery, and the alerts raised. */
export function AlertsSection({ project, cronjob }: { project: string; cronjob?: string }) {
  const settings = useAlertSettings(project, cronjob)
  const headingId = useId()
  // Up here, so their outcome outlives the form (it starts over after a save).
  const actions = {
    save: useSaveAlertSettings(project, cronjob),
    remove: useDeleteAlertSettings(project, cronjob),
    test: useTestAlert(project, cronjob),
  }
  return (
    <section aria-labelledby={headingId}>
      <h2 id={headingId}>{cronjob ? 'Alerts' : 'Alerts (project default)'}</h2>
      <ErrorBox error={settings.error} />
      {settings.data && (
        // Keyed, so the form starts over from what the server saved.
        <AlertSettingsForm
          key={`${settings.data.source}-${settings.data.updatedAt ?? ''}`}
          cronjob={cronjob}
          saved={settings.data}
          {...actions}
        />
      )}
      <AlertHistory project={project} cronjob={cronjob} />
    </section>
  )
}

function sourceText(saved: AlertSettingsView, cronjob?: string): string {
  switch (saved.source) {
    case 'cronjob':
      return 'This CronJob has its own alert settings.'
    case 'project':
      return cronjob
        ? "This CronJob uses the project's default alerts; saving here gives it its own."
        : 'Every CronJob without its own settings uses these.'
    default:
      return 'No alerts are set up.'
  }
}

function AlertSettingsForm({
  cronjob,
  saved,
  save,
  remove,
  test,
}: {
  cronjob?: string
  saved: AlertSettingsView
  save: ReturnType<typeof useSaveAlertSettings>
  remove: ReturnType<typeof useDeleteAlertSettings>
  test: ReturnType<typeof useTestAlert>
}) {
  const [form, setForm] = useState<AlertForm>(() => formFrom(saved))
  const set = (patch: Partial<AlertForm>) => setForm((f) => ({ ...f, ...patch }))
  const fieldError = (field: string) => (save.error instanceof ApiError ? save.error.forField(field) : null)
  const own = cronjob ? saved.source === 'cronjob' : saved.source === 'project'
  const savedKind = saved.destination?.kind ?? (saved.webhook ? 'webhook' : 'none')
  // What the saved settings have for the kind chosen (a URL is kept when left as shown).
  const sameKind = form.destination === savedKind
  const secretSet = sameKind && (saved.destination?.secretSet ?? saved.webhook?.secretSet ?? false)
  const urlShown = sameKind && own && !!(saved.destination?.url ?? saved.webhook?.url)
  const destinationName = useId()
  const destinationErrorId = useId()
  const kindError = fieldError('destination.kind')

  return (
    <form
      // The server checks every field and answers with its path; its words show on the field.
      noValidate
      aria-label={cronjob ? `Alert settings of ${cronjob}` : 'Default alert settings'}
      onSubmit={(e) => {
        e.preventDefault()
        save.mutate(bodyFrom(form))
      }}
    >
      <p className="muted">{sourceText(saved, cronjob)}</p>
      <fieldset>
        <legend>Alert when</legend>
        <Check label="A run fails" checked={form.onFailure} onChange={(v) => set({ onFailure: v })} />
        <Check label="Several runs in a row fail" checked={form.streakOn} onChange={(v) => set({ streakOn: v })} />
        {form.streakOn && (
          <Field label="Failures in a row" hint="2 to 100" error={fieldError('rules.consecutiveFailures')}>
            {(p) => <input {...p} type="number" min={2} max={100} value={form.streak} onChange={(e) => set({ streak: e.target.value })} />}
          </Field>
        )}
        <Check label="A scheduled run does not start" checked={form.onMissed} onChange={(v) => set({ onMissed: v })} />
        <Check label="A run takes too long" checked={form.longOn} onChange={(v) => set({ longOn: v })} />
        {form.longOn && (
          <Field label="Longer than (seconds)" hint="At least 60" error={fieldError('rules.longerThanSeconds')}>
            {(p) => (
              <input {...p} type="number" min={60} value={form.longerThanSeconds} onChange={(e) => set({ longerThanSeconds: e.target.value })} />
            )}
          </Field>
        )}
        <Check label="A run succeeds after an alerted failure" checked={form.onRecovery} onChange={(v) => set({ onRecovery: v })} />
      </fieldset>
      <fieldset aria-describedby={kindError ? destinationErrorId : undefined}>
        <legend>Send alerts to</legend>
        {destinationChoices.map((c) => (
          <label className="check" key={c.value}>
            <input
              type="radio"
              name={destinationName}
              value={c.value}
              checked={form.destination === c.value}
              onChange={() => setForm((f) => withDestination(f, c.value, saved))}
            />{' '}
            {c.label}
          </label>
        ))}
        {kindError && (
          <p className="error" id={destinationErrorId} role="alert">
            {kindError}
          </p>
        )}
      </fieldset>
      {(form.destination === 'webhook' || form.destination === 'slack' || form.destination === 'teams') && (
        <Field
          label={urlLabel[form.destination]}
          hint={
            urlShown
              ? 'Shown without its path, which holds a credential. Leave it to keep the URL, or type a new one.'
              : urlHint[form.destination]
          }
          error={fieldError('destination.url') ?? fieldError('webhook.url')}
        >
          {(p) => <input {...p} type="url" value={form.url} placeholder="https://" onChange={(e) => set({ url: e.target.value })} />}
        </Field>
      )}
      {form.destination === 'webhook' && (
        <>
          <Field
            label="Webhook secret"
            hint={secretSet ? 'Set. Leave empty to keep it, or type a new one.' : 'At least 16 characters; signs every delivery (X-HKS-Signature).'}
            error={fieldError('destination.secret') ?? fieldError('webhook.secret')}
          >
            {(p) => <input {...p} type="password" autoComplete="new-password" value={form.secret} onChange={(e) => set({ secret: e.target.value })} />}
          </Field>
          {secretSet && <Badge tone="ok">Secret set</Badge>}
        </>
      )}
      {form.destination === 'email' && (
        <Field
          label="Email addresses"
          hint="One per line (at most 20). HKS sends one message per alert through this installation's mail server."
          error={fieldError('destination.to')}
        >
          {(p) => <textarea {...p} rows={3} value={form.to} placeholder="ops@example.com" onChange={(e) => set({ to: e.target.value })} />}
        </Field>
      )}
      <ErrorBox error={save.error ?? remove.error ?? test.error} />
      <div className="actions">
        <Button type="submit" variant="primary" disabled={save.isPending}>
          Save alerts
        </Button>
        <Button onClick={() => test.mutate()} disabled={test.isPending || !saved.destination}>
          Send test
        </Button>
        {own && (
          <Button variant="danger" onClick={() => remove.mutate()} disabled={remove.isPending}>
            {cronjob ? 'Use project default' : 'Remove default alerts'}
          </Button>
        )}
      </div>
      {save.isSuccess && <p role="status">Saved.</p>}
      {test.data && (
        <p role="status">
          {test.data.delivered
            ? `Test delivered (${answerLabel(test.data.destination, test.data.status ?? 0)}).`
            : `Test not delivered: ${test.data.error ?? answerLabel(test.data.destination, test.data.status ?? 0)}.`}
        </p>
      )}
    </form>
  )
}

const urlLabel = { webhook: 'Webhook URL', slack: 'Slack webhook URL', teams: 'Teams webhook URL' } as const

const urlHint = {
  webhook: 'HKS POSTs each alert here as JSON, signed with the secret below.',
  slack: "An incoming webhook's URL (https://hooks.slack.com/services/…); a credential: it is never shown again.",
  teams: "A Teams incoming webhook's or Workflows trigger's URL; a credential: it is never shown again.",
} as const

function Check({ label, checked, onChange }: { label: string; checked: boolean; onChange: (v: boolean) => void }) {
  return (
    <label className="check">
      <input type="checkbox" checked={checked} onChange={(e) => onChange(e.target.checked)} /> {label}
    </label>
  )
}

function AlertHistory({ project, cronjob }: { project: string; cronjob?: string }) {
  const history = useAlertHistory(project, cronjob)
  if (history.error) return <ErrorBox error={history.error} />
  if (!history.data) return null
  if (!history.data.length) return <p className="muted">No alerts raised yet.</p>
  return (
    <table className="list" aria-label="Alerts raised">
      <thead>
        <tr>
          <th scope="col">Raised</th>
          {!cronjob && <th scope="col">CronJob</th>}
          <th scope="col">Alert</th>
          <th scope="col">Delivery</th>
        </tr>
      </thead>
      <tbody>
        {history.data.map((a) => {
          const d = deliveryLabel(a.delivery)
          const last = a.delivery?.lastError ?? (a.delivery?.lastStatus ? answerLabel(a.delivery.destination, a.delivery.lastStatus) : '')
          return (
            <tr key={a.id}>
              <td>
                <RelativeTime at={a.raisedAt} />
              </td>
              {!cronjob && <td>{a.cronjob}</td>}
              <td>{a.summary}</td>
              <td>
                <Badge tone={d.tone}>{d.label}</Badge> {last && <span className="muted">{last}</span>}
              </td>
            </tr>
          )
        })}
      </tbody>
    </table>
  )
}
