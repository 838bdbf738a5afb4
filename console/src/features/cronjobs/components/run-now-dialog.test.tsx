import { QueryClient, QueryClientProvider } from '@tanstack/react-query'
import { render, screen, waitFor } from '@testing-library/react'
import userEvent from '@testing-library/user-event'
import type { CronJobView } from '../../../api/types'
import { RunNowDialog } from './run-now-dialog'

const report: CronJobView = {
  name: 'report',
  generation: 1,
  createdAt: '',
  updatedAt: '',
  active: 0,
  clusterState: 'Applied',
  nextRuns: [],
  schedule: '0 3 * * *',
  timeZone: 'UTC',
  suspended: false,
  container: { image: 'hks.local/busybox:1', command: ['/bin/report', '--since', '24h'] },
  spec: { schedule: '0 3 * * *', timeZone: 'UTC', image: 'hks.local/busybox:1', timeoutSeconds: 600 },
} as CronJobView

/** A server that answers Run now with `answer`, and what it was sent. */
function serve(answer: { status: number; body: unknown }) {
  const posted: unknown[] = []
  vi.stubGlobal(
    'fetch',
    vi.fn(async (_url: string, init?: RequestInit) => {
      posted.push(init?.body ? JSON.parse(String(init.body)) : undefined)
      return new Response(JSON.stringify(answer.body), { status: answer.status, headers: { 'Content-Type': 'application/json' } })
    }),
  )
  return posted
}

function show(onStarted = vi.fn()) {
  const client = new QueryClient({ defaultOptions: { mutations: { retry: false } } })
  render(
    <QueryClientProvider client={client}>
      <RunNowDialog project="shop" cronjob={report} open onClose={() => {}} onStarted={onStarted} />
    </QueryClientProvider>,
  )
  return onStarted
}

describe('RunNowDialog', () => {
  afterEach(() => vi.unstubAllGlobals())

  it('shows the command the run will execute and sends only what changed', async () => {
    const posted = serve({ status: 201, body: { name: 'report-mabc' } })
    const onStarted = show()
    const user = userEvent.setup()
    expect(screen.getByLabelText('Effective command')).toHaveTextContent('/bin/report --since 24h')
    await user.type(screen.getByLabelText('Command for this run'), 'echo "$MODE"')
    expect(screen.getByLabelText('Effective command')).toHaveTextContent(`sh -c 'echo "$MODE"'`)
    await user.type(screen.getByLabelText('Environment for this run'), 'MODE=once')
    await user.type(screen.getByLabelText('Timeout for this run (seconds)'), '90')
    await user.click(screen.getByRole('button', { name: 'Start run' }))
    await waitFor(() => expect(onStarted).toHaveBeenCalled())
    expect(posted).toEqual([{ command: { argv: ['echo "$MODE"'], shell: true }, env: [{ name: 'MODE', value: 'once' }], timeoutSeconds: 90 }])
  })

  it("shows the server's problem at its field and starts nothing", async () => {
    serve({
      status: 400,
      body: { code: 'invalid', message: 'env[0].name: not a name', problems: [{ field: 'env[0].name', code: 'invalid_env_name', message: 'not a name' }] },
    })
    const onStarted = show()
    const user = userEvent.setup()
    await user.type(screen.getByLabelText('Environment for this run'), '1A=x')
    await user.click(screen.getByRole('button', { name: 'Start run' }))
    expect(await screen.findByText('not a name')).toBeInTheDocument()
    expect(onStarted).not.toHaveBeenCalled()
  })

  it('refuses a line it cannot read before asking the server', async () => {
    const posted = serve({ status: 201, body: {} })
    show()
    const user = userEvent.setup()
    await user.type(screen.getByLabelText('Environment for this run'), 'no equals sign')
    expect(screen.getByText(/line 1/)).toBeInTheDocument()
    expect(screen.getByRole('button', { name: 'Start run' })).toBeDisabled()
    expect(posted).toEqual([])
  })
})
