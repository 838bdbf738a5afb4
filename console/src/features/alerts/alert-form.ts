// The alert settings form's state and its conversions, as pure functions:
// what the server has → what the form shows → what a Save sends.

import type { AlertSettingsView, DeliveryView, PutAlertSettings } from '../../api/types'
import type { Tone } from '../../components/ui'

export type AlertForm = {
  onFailure: boolean
  streakOn: boolean
  /** As typed, so an empty field stays empty; the server judges the number. */
  streak: string
  onMissed: boolean
  longOn: boolean
  longerThanSeconds: string
  onRecovery: boolean
  /** As the server shows it (scheme and host, `https://hooks.example.com/…`):
   *  sent back unchanged, the server keeps the stored URL. */
  url: string
  /** A new secret; empty keeps the stored one. */
  secret: string
}

export function formFrom(view: AlertSettingsView): AlertForm {
  const r = view.rules
  return {
    onFailure: r.onFailure ?? false,
    streakOn: r.consecutiveFailures != null,
    streak: String(r.consecutiveFailures ?? 3),
    onMissed: r.onMissed ?? false,
    longOn: r.longerThanSeconds != null,
    longerThanSeconds: String(r.longerThanSeconds ?? 3600),
    onRecovery: r.onRecovery ?? false,
    url: view.webhook?.url ?? '',
    secret: '',
  }
}

/** A whole number from a field; 0 when it is not one, which the server refuses with its reason. */
const whole = (text: string) => Math.trunc(Number(text)) || 0

export function bodyFrom(form: AlertForm): PutAlertSettings {
  const url = form.url.trim()
  return {
    rules: {
      onFailure: form.onFailure,
      consecutiveFailures: form.streakOn ? whole(form.streak) : null,
      onMissed: form.onMissed,
      longerThanSeconds: form.longOn ? whole(form.longerThanSeconds) : null,
      onRecovery: form.onRecovery,
    },
    // Without a secret the server keeps the stored one; the URL as shown keeps the stored URL.
    webhook: url ? { url, ...(form.secret ? { secret: form.secret } : {}) } : null,
  }
}

/** A delivery's state in words, with a tone for its badge. */
export function deliveryLabel(d: DeliveryView | null | undefined): { tone: Tone; label: string } {
  if (!d) return { tone: 'idle', label: 'Not sent (no webhook)' }
  const tries = d.attempts === 1 ? '1 attempt' : `${d.attempts} attempts`
  switch (d.state) {
    case 'delivered':
      return { tone: 'ok', label: `Delivered (${tries})` }
    case 'failed':
      return { tone: 'bad', label: `Failed after ${tries}` }
    default:
      return { tone: 'busy', label: d.attempts ? `Retrying (${tries})` : 'Pending' }
  }
}
