// The alert settings form's state and its conversions, as pure functions:
// what the server has → what the form shows → what a Save sends.

import type { AlertSettingsView, DeliveryView, DestinationBody, DestinationKind, PutAlertSettings } from '../../api/types'
import type { Tone } from '../../components/ui'

/** Where alerts go, or `none`: they are only recorded. */
export type DestinationChoice = 'none' | DestinationKind

/** The choices of destination, with their labels, in the order shown. */
export const destinationChoices: { value: DestinationChoice; label: string }[] = [
  { value: 'none', label: 'Nowhere (only record alerts)' },
  { value: 'webhook', label: 'Webhook (signed JSON)' },
  { value: 'slack', label: 'Slack' },
  { value: 'teams', label: 'Microsoft Teams' },
  { value: 'email', label: 'Email' },
]

export type AlertForm = {
  onFailure: boolean
  streakOn: boolean
  /** As typed, so an empty field stays empty; the server judges the number. */
  streak: string
  onMissed: boolean
  longOn: boolean
  longerThanSeconds: string
  onRecovery: boolean
  destination: DestinationChoice
  /** A webhook's, Slack's or Teams' URL. As the server shows it (scheme and
   *  host, `https://hooks.example.com/…`): sent back unchanged, the server
   *  keeps the stored URL. */
  url: string
  /** A new webhook secret; empty keeps the stored one. */
  secret: string
  /** Email addresses as typed, one per line or separated by commas. */
  to: string
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
    destination: view.destination?.kind ?? (view.webhook ? 'webhook' : 'none'),
    url: view.destination?.url ?? view.webhook?.url ?? '',
    secret: '',
    to: (view.destination?.to ?? []).join('\n'),
  }
}

/** The addresses typed, one per line or separated by commas or spaces. */
export function addresses(text: string): string[] {
  return text
    .split(/[\s,;]+/)
    .map((a) => a.trim())
    .filter(Boolean)
}

/** The form after choosing another destination: the saved URL comes back
 *  with its own kind, any other starts empty (a URL shown for one kind
 *  cannot keep another's). */
export function withDestination(form: AlertForm, destination: DestinationChoice, saved: AlertSettingsView): AlertForm {
  const savedForm = formFrom(saved)
  const same = destination === savedForm.destination
  return { ...form, destination, url: same ? savedForm.url : '', secret: '' }
}

/** A whole number from a field; 0 when it is not one, which the server refuses with its reason. */
const whole = (text: string) => Math.trunc(Number(text)) || 0

function destinationFrom(form: AlertForm): DestinationBody | null {
  const url = form.url.trim()
  // A URL or secret left out keeps the stored one; the URL as shown keeps the stored URL.
  switch (form.destination) {
    case 'none':
      return null
    case 'webhook':
      return { kind: 'webhook', ...(url ? { url } : {}), ...(form.secret ? { secret: form.secret } : {}) }
    case 'slack':
    case 'teams':
      return { kind: form.destination, ...(url ? { url } : {}) }
    case 'email':
      return { kind: 'email', to: addresses(form.to) }
  }
}

export function bodyFrom(form: AlertForm): PutAlertSettings {
  return {
    rules: {
      onFailure: form.onFailure,
      consecutiveFailures: form.streakOn ? whole(form.streak) : null,
      onMissed: form.onMissed,
      longerThanSeconds: form.longOn ? whole(form.longerThanSeconds) : null,
      onRecovery: form.onRecovery,
    },
    destination: destinationFrom(form),
  }
}

/** A delivery's state in words, with a tone for its badge. */
export function deliveryLabel(d: DeliveryView | null | undefined): { tone: Tone; label: string } {
  if (!d) return { tone: 'idle', label: 'Not sent (no destination)' }
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

/** How a receiver's answer is named: an HTTP status, or an SMTP reply code for email. */
export function answerLabel(destination: DestinationKind | undefined, status: number): string {
  return `${destination === 'email' ? 'SMTP' : 'HTTP'} ${status}`
}
