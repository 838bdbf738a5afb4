import type { AlertSettingsView } from '../../api/types'
import { addresses, answerLabel, bodyFrom, deliveryLabel, formFrom, withDestination } from './alert-form'

const webhook: AlertSettingsView = {
  source: 'project',
  rules: { onFailure: true, consecutiveFailures: 5, onRecovery: true },
  destination: { kind: 'webhook', url: 'https://hooks.example.com/…', secretSet: true, to: [] },
  webhook: { url: 'https://hooks.example.com/…', urlSet: true, secretSet: true },
}

describe('alert settings form', () => {
  it('round-trips the rules, and keeps the URL as shown and the secret unless new ones are typed', () => {
    const form = formFrom(webhook)
    expect(form.streakOn).toBe(true)
    expect(form.longOn).toBe(false)
    expect(form.destination).toBe('webhook')
    expect(bodyFrom(form)).toEqual({
      rules: { onFailure: true, consecutiveFailures: 5, onMissed: false, longerThanSeconds: null, onRecovery: true },
      // The URL as the server shows it: the server keeps the stored one.
      destination: { kind: 'webhook', url: 'https://hooks.example.com/…' },
    })
    expect(bodyFrom({ ...form, secret: 'a-new-secret-0123' }).destination).toEqual({
      kind: 'webhook',
      url: 'https://hooks.example.com/…',
      secret: 'a-new-secret-0123',
    })
    expect(bodyFrom({ ...form, url: 'https://hooks.example.com/new' }).destination).toEqual({ kind: 'webhook', url: 'https://hooks.example.com/new' })
    // An emptied URL is left out: the server keeps the stored one, or says one is needed.
    expect(bodyFrom({ ...form, url: '  ' }).destination).toEqual({ kind: 'webhook' })
    expect(bodyFrom({ ...form, destination: 'none' }).destination).toBeNull()
    // An emptied number is sent as 0, for the server to refuse on its field.
    expect(bodyFrom({ ...form, streak: '' }).rules.consecutiveFailures).toBe(0)
  })

  it('reads settings saved before destinations, from their webhook', () => {
    const { destination: _, ...old } = webhook
    expect(formFrom(old).destination).toBe('webhook')
    expect(formFrom({ source: 'none', rules: {} }).destination).toBe('none')
  })

  it('sends Slack, Teams and email destinations, and starts a new kind without the saved URL', () => {
    const slack: AlertSettingsView = {
      source: 'project',
      rules: { onFailure: true },
      destination: { kind: 'slack', url: 'https://hooks.slack.com/…', secretSet: false, to: [] },
    }
    const form = formFrom(slack)
    expect(bodyFrom(form).destination).toEqual({ kind: 'slack', url: 'https://hooks.slack.com/…' })
    const teams = withDestination(form, 'teams', slack)
    expect(teams.url).toBe('')
    expect(bodyFrom({ ...teams, url: 'https://example.webhook.office.com/x' }).destination).toEqual({
      kind: 'teams',
      url: 'https://example.webhook.office.com/x',
    })
    // Back to the saved kind, its URL as shown comes back.
    expect(withDestination(teams, 'slack', slack).url).toBe('https://hooks.slack.com/…')
    const email = withDestination(form, 'email', slack)
    expect(bodyFrom({ ...email, to: 'ops@example.com\noncall@example.org, ' }).destination).toEqual({
      kind: 'email',
      to: ['ops@example.com', 'oncall@example.org'],
    })
    expect(formFrom({ ...slack, destination: { kind: 'email', secretSet: false, to: ['a@example.com', 'b@example.com'] } }).to).toBe(
      'a@example.com\nb@example.com',
    )
    expect(addresses(' a@example.com;b@example.com\n\n')).toEqual(['a@example.com', 'b@example.com'])
  })

  it('words deliveries', () => {
    expect(deliveryLabel(null).label).toBe('Not sent (no destination)')
    expect(deliveryLabel({ id: 'd', destination: 'slack', state: 'delivered', attempts: 3 })).toEqual({ tone: 'ok', label: 'Delivered (3 attempts)' })
    expect(deliveryLabel({ id: 'd', destination: 'webhook', state: 'pending', attempts: 0 }).label).toBe('Pending')
    expect(deliveryLabel({ id: 'd', destination: 'email', state: 'failed', attempts: 6 }).label).toBe('Failed after 6 attempts')
    expect(answerLabel('email', 250)).toBe('SMTP 250')
    expect(answerLabel('teams', 202)).toBe('HTTP 202')
  })
})
