import { QueryClient, QueryClientProvider } from '@tanstack/react-query'
import { render, screen, waitFor } from '@testing-library/react'
import userEvent from '@testing-library/user-event'
import { CronJobForm } from './cronjob-form'

const greet = { name: 'greet', type: 'function', generation: 1, createdAt: '', updatedAt: '', spec: { endpoint: 'http://greeter.demo.svc:8080/', method: 'POST' } }

function serve() {
  const posted: { path: string; body: unknown }[] = []
  vi.stubGlobal(
    'fetch',
    vi.fn(async (url: string, init?: RequestInit) => {
      const path = url.replace('/api/v1', '')
      const json = (b: unknown, status = 200) => new Response(JSON.stringify(b), { status, headers: { 'Content-Type': 'application/json' } })
      if (init?.method === 'POST' && path.endsWith('/cronjobs')) {
        posted.push({ path, body: JSON.parse(String(init.body)) })
        return json({ name: 'wake' }, 201)
      }
      if (path.includes('applications?type=function')) return json([greet])
      if (path.includes('applications')) return json([])
      if (path.includes('schedules/preview')) return json({ valid: true, schedule: '0 9 * * MON', timeZone: 'UTC', nextRuns: [], skipped: [], warnings: [], errors: [] })
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
