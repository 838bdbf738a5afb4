import { QueryClient, QueryClientProvider } from '@tanstack/react-query'
import { render, screen, waitFor } from '@testing-library/react'
import userEvent from '@testing-library/user-event'
import { AlertsSection } from './alert-settings'

type Call = { method: string; path: string; body?: unknown }

/** A fake server: the CronJob uses the project's default, with a secret set. */
function serve() {
  const calls: Call[] = []
  let settings: Record<string, unknown> = {
    source: 'project',
    rules: { onFailure: true, onRecovery: true },
    destination: { kind: 'webhook', url: 'https://hooks.example.com/…', secretSet: true, to: [] },
    webhook: { url: 'https://hooks.example.com/…', urlSet: true, secretSet: true },
    updatedAt: '2026-01-01T00:00:00Z',
  }
  vi.stubGlobal(
    'fetch',
    vi.fn(async (url: string, init?: RequestInit) => {
      const path = url.replace('/api/v1', '')
      const method = init?.method ?? 'GET'
      const body = init?.body ? JSON.parse(String(init.body)) : undefined
      calls.push({ method, path, body })
      const json = (b: unknown, status = 200) => new Response(JSON.stringify(b), { status, headers: { 'Content-Type': 'application/json' } })
      if (path.startsWith('/projects/demo/alerts/history')) {
        return json([
          {
            id: 'a1',
            cronjob: 'report',
            key: 'failed:report-1',
            kind: 'failed',
            subject: 'report-1',
            summary: 'Run report-1 failed (BackoffLimitExceeded)',
            raisedAt: '2026-01-01T00:00:00Z',
            delivery: { id: 'd1', destination: 'webhook', state: 'failed', attempts: 6, lastStatus: 500 },
          },
        ])
      }
      if (path.startsWith('/projects/demo/alerts/test')) {
        const kind = (settings.destination as { kind: string }).kind
        return json({ deliveryId: 't1', destination: kind, delivered: true, status: kind === 'email' ? 250 : 204 })
      }
      if (path === '/projects/demo/cronjobs/report/alerts' && method === 'PUT') {
        const b = body as { rules: { consecutiveFailures?: number }; destination: { kind: string; to?: string[] } }
        if (b.destination.kind === 'email' && b.destination.to?.includes('not-an-address')) {
          return json(
            {
              code: 'invalid',
              message: 'destination.to[1]: must be an email address such as ops@example.com',
              problems: [{ field: 'destination.to[1]', code: 'invalid_email', message: 'must be an email address such as ops@example.com' }],
            },
            400,
          )
        }
        if (b.rules.consecutiveFailures === 1) {
          return json(
            {
              code: 'invalid',
              message: 'rules.consecutiveFailures: must be between 2 and 100',
              problems: [{ field: 'rules.consecutiveFailures', code: 'out_of_range', message: 'must be between 2 and 100' }],
            },
            400,
          )
        }
        const destination =
          b.destination.kind === 'email'
            ? { kind: 'email', secretSet: false, to: b.destination.to }
            : { kind: 'webhook', url: 'https://hooks.example.com/…', secretSet: true, to: [] }
        settings = {
          ...settings,
          ...b,
          source: 'cronjob',
          destination,
          webhook: b.destination.kind === 'webhook' ? { url: 'https://hooks.example.com/…', urlSet: true, secretSet: true } : null,
          updatedAt: '2026-01-02T00:00:00Z',
        }
        return json(settings)
      }
      if (path === '/projects/demo/cronjobs/report/alerts') return json(settings)
      return json({}, 404)
    }),
  )
  return calls
}

describe('Alerts of a CronJob', () => {
  afterEach(() => vi.unstubAllGlobals())

  it('shows the settings in effect, saves its own, tests the webhook and lists the alerts', async () => {
    const calls = serve()
    render(
      <QueryClientProvider client={new QueryClient()}>
        <AlertsSection project="demo" cronjob="report" />
      </QueryClientProvider>,
    )
    const user = userEvent.setup()
    expect(screen.getByRole('heading', { name: 'Alerts' })).toBeInTheDocument()
    await waitFor(() => expect(screen.getByRole('checkbox', { name: 'A run fails' })).toBeChecked())
    expect(screen.getByText(/uses the project's default alerts/)).toBeInTheDocument()
    expect(screen.getByRole('checkbox', { name: 'A run succeeds after an alerted failure' })).toBeChecked()
    expect(screen.getByRole('checkbox', { name: 'A scheduled run does not start' })).not.toBeChecked()
    // Where alerts go: one choice of a labelled group.
    const group = screen.getByRole('group', { name: 'Send alerts to' })
    expect(group).toBeInTheDocument()
    expect(screen.getByRole('radio', { name: 'Webhook (signed JSON)' })).toBeChecked()
    for (const name of ['Nowhere (only record alerts)', 'Slack', 'Microsoft Teams', 'Email']) {
      expect(screen.getByRole('radio', { name })).not.toBeChecked()
    }
    expect(screen.getByRole('textbox', { name: 'Webhook URL' })).toHaveValue('https://hooks.example.com/…')
    // The secret is never shown: the field is empty and says it is set.
    const secret = screen.getByLabelText('Webhook secret')
    expect(secret).toHaveAttribute('type', 'password')
    expect(secret).toHaveValue('')
    expect(screen.getByText('Secret set')).toBeInTheDocument()

    // The history with each delivery's state.
    const table = await screen.findByRole('table', { name: 'Alerts raised' })
    expect(table).toHaveTextContent('Run report-1 failed (BackoffLimitExceeded)')
    expect(table).toHaveTextContent('Failed after 6 attempts')

    // A bad number comes back with the server's words on its field.
    await user.click(screen.getByRole('checkbox', { name: 'Several runs in a row fail' }))
    const streak = screen.getByRole('spinbutton', { name: 'Failures in a row' })
    await user.clear(streak)
    await user.type(streak, '1')
    await user.click(screen.getByRole('button', { name: 'Save alerts' }))
    expect(await screen.findByText('must be between 2 and 100', { selector: 'p.error' })).toBeInTheDocument()
    expect(streak).toHaveAccessibleDescription(/must be between 2 and 100/)

    await user.clear(streak)
    await user.type(streak, '3')
    await user.click(screen.getByRole('checkbox', { name: 'A run takes too long' }))
    await user.clear(screen.getByRole('spinbutton', { name: 'Longer than (seconds)' }))
    await user.type(screen.getByRole('spinbutton', { name: 'Longer than (seconds)' }), '600')
    await user.click(screen.getByRole('button', { name: 'Save alerts' }))
    await waitFor(() => expect(screen.getByRole('status')).toHaveTextContent('Saved.'))
    const put = calls.filter((c) => c.method === 'PUT').at(-1)
    expect(put?.body).toEqual({
      rules: { onFailure: true, consecutiveFailures: 3, onMissed: false, longerThanSeconds: 600, onRecovery: true },
      // No secret or URL typed: the URL as shown and no secret keep the stored ones.
      destination: { kind: 'webhook', url: 'https://hooks.example.com/…' },
    })
    expect(await screen.findByText('This CronJob has its own alert settings.')).toBeInTheDocument()
    expect(screen.getByRole('button', { name: 'Use project default' })).toBeInTheDocument()

    await user.click(screen.getByRole('button', { name: 'Send test' }))
    await waitFor(() => expect(screen.getByText('Test delivered (HTTP 204).')).toBeInTheDocument())
    expect(calls.some((c) => c.method === 'POST' && c.path === '/projects/demo/alerts/test?cronjob=report')).toBe(true)
  })

  it('switches to Slack and to email, with fields labelled for each', async () => {
    const calls = serve()
    render(
      <QueryClientProvider client={new QueryClient()}>
        <AlertsSection project="demo" cronjob="report" />
      </QueryClientProvider>,
    )
    const user = userEvent.setup()
    await waitFor(() => expect(screen.getByRole('radio', { name: 'Webhook (signed JSON)' })).toBeChecked())

    // Slack: a URL of its own, no secret; the webhook's URL is not carried over.
    await user.click(screen.getByRole('radio', { name: 'Slack' }))
    const slack = screen.getByRole('textbox', { name: 'Slack webhook URL' })
    expect(slack).toHaveValue('')
    expect(screen.queryByLabelText('Webhook secret')).not.toBeInTheDocument()

    // Email: the addresses, one per line; the server's words land on the field.
    await user.click(screen.getByRole('radio', { name: 'Email' }))
    expect(screen.queryByRole('textbox', { name: 'Slack webhook URL' })).not.toBeInTheDocument()
    const to = screen.getByRole('textbox', { name: 'Email addresses' })
    await user.type(to, 'ops@example.com{enter}not-an-address')
    await user.click(screen.getByRole('button', { name: 'Save alerts' }))
    expect(await screen.findByText('must be an email address such as ops@example.com', { selector: 'p.error' })).toBeInTheDocument()
    expect(to).toHaveAccessibleDescription(/must be an email address/)

    await user.clear(to)
    await user.type(to, 'ops@example.com{enter}oncall@example.org')
    await user.click(screen.getByRole('button', { name: 'Save alerts' }))
    await waitFor(() => expect(screen.getByRole('status')).toHaveTextContent('Saved.'))
    expect(calls.filter((c) => c.method === 'PUT').at(-1)?.body).toEqual({
      rules: { onFailure: true, consecutiveFailures: null, onMissed: false, longerThanSeconds: null, onRecovery: true },
      destination: { kind: 'email', to: ['ops@example.com', 'oncall@example.org'] },
    })
    // Saved: the form shows the email destination the server stored.
    await waitFor(() => expect(screen.getByRole('radio', { name: 'Email' })).toBeChecked())
    expect(screen.getByRole('textbox', { name: 'Email addresses' })).toHaveValue('ops@example.com\noncall@example.org')
    await user.click(screen.getByRole('button', { name: 'Send test' }))
    await waitFor(() => expect(screen.getByText('Test delivered (SMTP 250).')).toBeInTheDocument())
  })
})
