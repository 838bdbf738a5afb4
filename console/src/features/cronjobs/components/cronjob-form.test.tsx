import { QueryClient, QueryClientProvider } from '@tanstack/react-query'
import { render, screen, waitFor } from '@testing-library/react'
import userEvent from '@testing-library/user-event'
import type { CronJobView } from '../../../api/types'
import { CronJobForm } from './cronjob-form'

const greet = { name: 'greet', type: 'function', generation: 1, createdAt: '', updatedAt: '', spec: { endpoint: 'http://greeter.demo.svc:8080/', method: 'POST' } }

/** A CronJob with settings the form has no control for. */
const nightly: CronJobView = {
  name: 'nightly',
  generation: 3,
  createdAt: '',
  updatedAt: '',
  active: 0,
  clusterState: 'Applied',
  nextRuns: [],
  schedule: '0 3 * * *',
  timeZone: 'UTC',
  suspended: true,
  spec: {
    schedule: '0 3 * * *',
    timeZone: 'UTC',
    image: 'hks.local/busybox:1',
    command: { argv: ['date'], shell: false },
    env: [
      { name: 'GREETING', value: 'hello' },
      { name: 'TOKEN', secret: { name: 'creds', key: 'token' } },
    ],
    labels: { team: 'billing' },
    resources: { requests: { cpu: '10m', memory: '16Mi' }, limits: { memory: '64Mi' } },
    historyRetention: { maxRuns: 50, maxAgeDays: 7 },
    concurrencyPolicy: 'Replace',
    timeoutSeconds: 600,
    retries: 0,
    startingDeadlineSeconds: 120,
    successfulJobsHistoryLimit: 1,
    failedJobsHistoryLimit: 2,
    suspend: true,
  },
}

function serve() {
  const posted: { path: string; method: string; body: unknown }[] = []
  vi.stubGlobal(
    'fetch',
    vi.fn(async (url: string, init?: RequestInit) => {
      const path = url.replace('/api/v1', '')
      const json = (b: unknown, status = 200) => new Response(JSON.stringify(b), { status, headers: { 'Content-Type': 'application/json' } })
      if (init?.method === 'POST' && path.endsWith('/cronjobs')) {
        posted.push({ path, method: 'POST', body: JSON.parse(String(init.body)) })
        return json({ name: 'wake' }, 201)
      }
      if (init?.method === 'PUT' && path.includes('/cronjobs/')) {
        posted.push({ path, method: 'PUT', body: JSON.parse(String(init.body)) })
        return json({ ...nightly, spec: JSON.parse(String(init.body)) })
      }
      if (path.includes('applications?type=function')) return json([greet])
      if (path.includes('applications')) return json([])
      if (path.includes('schedules/preview')) {
        const asked = JSON.parse(String(init?.body)) as { schedule: string; project?: string; name?: string }
        // H takes its value from the project and name, as the server does.
        const expandedSchedule = asked.schedule.startsWith('H ') && asked.project && asked.name ? asked.schedule.replace('H', '17') : undefined
        return json({ valid: true, schedule: asked.schedule, expandedSchedule, timeZone: 'UTC', nextRuns: [], skipped: [], warnings: [], errors: [] })
      }
      return json({})
    }),
  )
  return posted
}

describe('New CronJob from a Function', () => {
  afterEach(() => vi.unstubAllGlobals())

  it('names every control and sends the call', async () => {
    const posted = serve()
    render(
      <QueryClientProvider client={new QueryClient()}>
        <CronJobForm project="demo" fromFunction />
      </QueryClientProvider>,
    )
    const user = userEvent.setup()
    expect(screen.getByRole('heading', { name: 'New CronJob from a Function' })).toBeInTheDocument()
    expect(screen.getByRole('radio', { name: /A call of a Function/ })).toBeChecked()
    await user.type(screen.getByRole('textbox', { name: 'Name' }), 'wake')
    await waitFor(() => expect(screen.getByRole('option', { name: 'greet' })).toBeInTheDocument())
    await user.selectOptions(screen.getByRole('combobox', { name: 'Function' }), 'greet')
    expect(screen.getByText('http://greeter.demo.svc:8080/')).toBeInTheDocument()
    await user.selectOptions(screen.getByRole('combobox', { name: 'Method' }), 'PUT')
    await user.click(screen.getByRole('button', { name: 'Add header' }))
    await user.type(screen.getByRole('textbox', { name: 'Header 1 name' }), 'X-Source')
    await user.type(screen.getByRole('textbox', { name: 'Header 1 value' }), 'console')
    expect(screen.getByRole('button', { name: 'Remove header 1' })).toBeInTheDocument()
    await user.type(screen.getByRole('textbox', { name: 'Body' }), 'hello')
    const expectField = screen.getByRole('textbox', { name: 'Expected status' })
    await user.clear(expectField)
    await user.type(expectField, '200, 204')
    for (const name of ['Request timeout (seconds)', 'Request retries', 'Backoff (seconds)']) {
      expect(screen.getByRole('spinbutton', { name })).toBeInTheDocument()
    }
    // The container mode's controls are gone.
    expect(screen.queryByRole('combobox', { name: 'Template application' })).toBeNull()
    await user.click(screen.getByRole('button', { name: 'Create CronJob' }))
    await waitFor(() => expect(posted).toHaveLength(1))
    const body = posted[0].body as { name: string; spec: Record<string, unknown> }
    expect(body.name).toBe('wake')
    expect(body.spec.function).toEqual({
      name: 'greet',
      method: 'PUT',
      headers: [{ name: 'X-Source', value: 'console' }],
      body: 'hello',
      requestTimeoutSeconds: 30,
      retries: 2,
      backoffSeconds: 2,
      expect: ['200', '204'],
    })
    expect(body.spec.image).toBeUndefined()
    expect(body.spec.template).toBeUndefined()
  })
})

describe('Edit a CronJob', () => {
  afterEach(() => vi.unstubAllGlobals())

  it('changes the schedule and keeps the settings the form does not show', async () => {
    const sent = serve()
    render(
      <QueryClientProvider client={new QueryClient()}>
        <CronJobForm project="demo" existing={nightly} />
      </QueryClientProvider>,
    )
    const user = userEvent.setup()
    expect(screen.getByRole('heading', { name: 'Edit nightly' })).toBeInTheDocument()
    const cron = screen.getByRole('textbox', { name: 'Cron expression' })
    await user.clear(cron)
    await user.type(cron, '30 4 * * *')
    await user.click(screen.getByRole('button', { name: 'Save changes' }))
    await waitFor(() => expect(sent).toHaveLength(1))
    expect(sent[0]).toMatchObject({ method: 'PUT', path: '/projects/demo/cronjobs/nightly' })
    expect(sent[0].body).toEqual({ ...nightly.spec, schedule: '30 4 * * *' })
  })

  it('shows what Kubernetes runs for a schedule with H, chosen from the project and name', async () => {
    serve()
    render(
      <QueryClientProvider client={new QueryClient()}>
        <CronJobForm project="demo" existing={nightly} />
      </QueryClientProvider>,
    )
    const user = userEvent.setup()
    const cron = screen.getByRole('textbox', { name: 'Cron expression' })
    await user.clear(cron)
    await user.type(cron, 'H 3 * * *')
    const hint = await screen.findByText(/Kubernetes runs/)
    expect(hint).toHaveTextContent('Kubernetes runs 17 3 * * *')
    const asked = vi.mocked(fetch).mock.calls.map(([, init]) => JSON.parse(String(init?.body ?? '{}')))
    expect(asked).toContainEqual(expect.objectContaining({ schedule: 'H 3 * * *', project: 'demo', name: 'nightly' }))
  })
})
