import { bodyFrom, deliveryLabel, formFrom } from './alert-form'

describe('alert settings form', () => {
  it('round-trips the rules, and keeps the URL as shown and the secret unless new ones are typed', () => {
    const form = formFrom({
      source: 'project',
      rules: { onFailure: true, consecutiveFailures: 5, onRecovery: true },
      webhook: { url: 'https://hooks.example.com/…', urlSet: true, secretSet: true },
    })
    expect(form.streakOn).toBe(true)
    expect(form.longOn).toBe(false)
    expect(bodyFrom(form)).toEqual({
      rules: { onFailure: true, consecutiveFailures: 5, onMissed: false, longerThanSeconds: null, onRecovery: true },
      // The URL as the server shows it: the server keeps the stored one.
      webhook: { url: 'https://hooks.example.com/…' },
    })
    expect(bodyFrom({ ...form, secret: 'a-new-secret-0123' }).webhook).toEqual({ url: 'https://hooks.example.com/…', secret: 'a-new-secret-0123' })
    expect(bodyFrom({ ...form, url: 'https://hooks.example.com/new' }).webhook).toEqual({ url: 'https://hooks.example.com/new' })
    expect(bodyFrom({ ...form, url: '  ' }).webhook).toBeNull()
    // An emptied number is sent as 0, for the server to refuse on its field.
    expect(bodyFrom({ ...form, streak: '' }).rules.consecutiveFailures).toBe(0)
  })

  it('words deliveries', () => {
    expect(deliveryLabel(null).label).toBe('Not sent (no webhook)')
    expect(deliveryLabel({ id: 'd', state: 'delivered', attempts: 3 })).toEqual({ tone: 'ok', label: 'Delivered (3 attempts)' })
    expect(deliveryLabel({ id: 'd', state: 'pending', attempts: 0 }).label).toBe('Pending')
    expect(deliveryLabel({ id: 'd', state: 'failed', attempts: 6 }).label).toBe('Failed after 6 attempts')
  })
})
