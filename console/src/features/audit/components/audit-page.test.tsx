import { QueryClient, QueryClientProvider } from '@tanstack/react-query'
import { render, screen, within } from '@testing-library/react'
import userEvent from '@testing-library/user-event'
import { AuditPage, describeChange } from './audit-page'

const entry = (id: number, action: string, changes: unknown[] = []) => ({
  id,
  at: '2026-11-27T10:00:00Z',
  actor: 'acme/ci',
  action,
  project: 'shop',
  target: 'cronjob/report',
  changes,
})

describe('AuditPage', () => {
  afterEach(() => vi.unstubAllGlobals())

  it('lists entries with their changes, pages on, and filters by action', async () => {
    const asked: string[] = []
    vi.stubGlobal(
      'fetch',
      vi.fn(async (url: string) => {
        asked.push(url)
        const u = new URL(url, 'http://x')
        const page = u.searchParams.get('before')
          ? { entries: [entry(1, 'cronjob.create')] }
          : u.searchParams.get('action')
            ? { entries: [entry(3, 'run.cancel')] }
            : {
                entries: [
                  entry(3, 'cronjob.update', [
                    { field: 'schedule', from: '0 3 * * *', to: '0 4 * * *' },
                    { field: 'env[0].value', redacted: true },
                  ]),
                ],
                nextBefore: 3,
              }
        return new Response(JSON.stringify(page), { status: 200, headers: { 'Content-Type': 'application/json' } })
      }),
    )
    render(
      <QueryClientProvider client={new QueryClient()}>
        <AuditPage project="shop" />
      </QueryClientProvider>,
    )
    const user = userEvent.setup()
    const table = await screen.findByRole('table', { name: 'Audit log' })
    expect(within(table).getByText('schedule: "0 3 * * *" → "0 4 * * *"')).toBeInTheDocument()
    expect(within(table).getByText('env[0].value changed')).toBeInTheDocument()
    await user.click(screen.getByRole('button', { name: 'Older entries' }))
    expect(await within(table).findByText('cronjob.create')).toBeInTheDocument()
    expect(asked.at(-1)).toContain('before=3')
    await user.selectOptions(screen.getByRole('combobox', { name: 'Action' }), 'run.cancel')
    expect(await screen.findByText('run.cancel', { selector: 'td' })).toBeInTheDocument()
    expect(asked.at(-1)).toContain('action=run.cancel')
  })

  it('words a change', () => {
    expect(describeChange({ field: 'retries', from: 2 })).toBe('retries: 2 removed')
    expect(describeChange({ field: 'webhook.url', redacted: true })).toBe('webhook.url changed')
  })
})
