import { QueryClient, QueryClientProvider } from '@tanstack/react-query'
import { render, screen, waitFor } from '@testing-library/react'
import userEvent from '@testing-library/user-event'
import { ProjectFileSection } from './project-file'

type Call = { method: string; path: string; body?: Record<string, unknown> }

const FILE = 'version: 1\ncronjobs:\n  nightly:\n    schedule: 0 4 * * *\n    image: busybox:1.36\n'

/** A fake server: a file to export; a preview and an apply of one change; a
 * new webhook's secret asked for until it is given. */
function serve() {
  const calls: Call[] = []
  vi.stubGlobal(
    'fetch',
    vi.fn(async (url: string, init?: RequestInit) => {
      const path = url.replace('/api/v1', '')
      const method = init?.method ?? 'GET'
      const body = init?.body ? JSON.parse(String(init.body)) : undefined
      calls.push({ method, path, body })
      const json = (b: unknown, status = 200) => new Response(JSON.stringify(b), { status, headers: { 'Content-Type': 'application/json' } })
      if (path === '/projects/demo/file' && method === 'GET') {
        return new Response(FILE, { headers: { 'Content-Type': 'application/yaml' } })
      }
      if (path === '/projects/demo/file' && method === 'POST') {
        if (String(body.content).includes('webhook') && !body.values['alerts.webhook.secret']) {
          return json(
            {
              code: 'invalid',
              message: 'the request has 2 problems',
              problems: [
                { field: 'cronjobs.nightly.schedule', code: 'invalid_field', message: 'hour 25 is out of range', line: 4, column: 5 },
                { field: 'alerts.webhook.secret', code: 'secret_value_missing', message: 'no value was given', hint: 'set HOOK_SECRET' },
              ],
            },
            400,
          )
        }
        const changes = [
          {
            action: 'update',
            kind: 'cronjob',
            name: 'nightly',
            path: 'cronjobs.nightly',
            fields: [{ path: 'cronjobs.nightly.schedule', before: '0 3 * * *', after: '0 4 * * *' }],
          },
        ]
        return json({
          dryRun: body.dryRun,
          changes,
          summary: body.dryRun ? '0 to create, 1 to change, 0 to delete' : '0 created, 1 changed, 0 deleted',
        })
      }
      return json({}, 404)
    }),
  )
  return calls
}

function renderSection() {
  const qc = new QueryClient({ defaultOptions: { queries: { retry: false } } })
  render(
    <QueryClientProvider client={qc}>
      <ProjectFileSection project="demo" />
    </QueryClientProvider>,
  )
}

afterEach(() => vi.unstubAllGlobals())

describe('the project file section', () => {
  it('exports the project as a file to read and download', async () => {
    serve()
    renderSection()
    await userEvent.click(screen.getByRole('button', { name: 'Export' }))
    const text = await screen.findByRole('textbox', { name: 'Exported project file' })
    expect(text).toHaveValue(FILE)
    expect(screen.getByRole('link', { name: 'Download demo.hks.yaml' })).toHaveAttribute('download', 'demo.hks.yaml')
  })

  it('previews the changes field by field, and applies only what was previewed', async () => {
    const calls = serve()
    renderSection()
    const apply = screen.getByRole('button', { name: /^Apply/ })
    expect(apply).toBeDisabled()
    await userEvent.type(screen.getByRole('textbox', { name: 'Project file to import' }), 'version: 1')
    await userEvent.click(screen.getByRole('button', { name: 'Preview changes' }))
    const preview = await screen.findByRole('region', { name: 'Preview of the changes' })
    expect(preview).toHaveTextContent('~ cronjobs.nightly (change)')
    expect(preview).toHaveTextContent('schedule: "0 3 * * *" → "0 4 * * *"')
    expect(preview).toHaveTextContent('0 to create, 1 to change, 0 to delete')
    expect(calls.at(-1)?.body).toMatchObject({ content: 'version: 1', dryRun: true, prune: false, values: {} })

    // An edit after the preview: it must be previewed again.
    await userEvent.click(screen.getByRole('checkbox', { name: /prune/ }))
    expect(screen.getByRole('button', { name: /^Apply/ })).toBeDisabled()
    await userEvent.click(screen.getByRole('button', { name: 'Preview changes' }))
    await screen.findByRole('region', { name: 'Preview of the changes' })
    await userEvent.click(screen.getByRole('button', { name: 'Apply 1 change' }))
    await waitFor(() => expect(screen.getByText('Applied: 0 created, 1 changed, 0 deleted.')).toBeInTheDocument())
    expect(calls.at(-1)?.body).toMatchObject({ dryRun: false, prune: true })
  })

  it('shows every problem with its place, and asks for the values of new webhooks', async () => {
    const calls = serve()
    renderSection()
    const file = screen.getByRole('textbox', { name: 'Project file to import' })
    await userEvent.type(file, 'version: 1 # webhook')
    await userEvent.click(screen.getByRole('button', { name: 'Preview changes' }))
    const problems = await screen.findByRole('list', { name: 'Problems in the file' })
    expect(problems).toHaveTextContent('cronjobs.nightly.schedule (line 4, column 5): hour 25 is out of range')
    expect(screen.getByRole('alert')).toHaveTextContent('Nothing was changed.')
    const secret = screen.getByLabelText('Value of alerts.webhook.secret')
    expect(secret).toHaveAttribute('type', 'password')
    await userEvent.type(secret, 'a-secret-of-enough-length')
    await userEvent.click(screen.getByRole('button', { name: 'Preview changes' }))
    await screen.findByRole('region', { name: 'Preview of the changes' })
    expect(calls.at(-1)?.body).toMatchObject({ values: { 'alerts.webhook.secret': 'a-secret-of-enough-length' } })
  })
})
