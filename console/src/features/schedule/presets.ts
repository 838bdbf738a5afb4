// Presets to cron, mirroring hks_schedule::Preset::to_cron (the same vectors
// test both: crates/hks-schedule/tests/preset-vectors.json). Recognising a raw
// expression as a preset is the server's job (schedules/preview), so the two
// can never disagree about what an expression means.

export const WEEKDAYS = ['SUN', 'MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT'] as const
export type Weekday = (typeof WEEKDAYS)[number]

export const WEEKDAY_NAMES: Record<Weekday, string> = {
  SUN: 'Sunday',
  MON: 'Monday',
  TUE: 'Tuesday',
  WED: 'Wednesday',
  THU: 'Thursday',
  FRI: 'Friday',
  SAT: 'Saturday',
}

export type Preset =
  | { kind: 'everyMinutes'; interval: number }
  | { kind: 'hourly'; minute: number }
  | { kind: 'daily'; hour: number; minute: number }
  | { kind: 'weekly'; days: Weekday[]; hour: number; minute: number }
  | { kind: 'monthly'; day: number; hour: number; minute: number }

export type PresetKind = Preset['kind']

export const PRESET_KINDS: { kind: PresetKind; label: string }[] = [
  { kind: 'everyMinutes', label: 'Every N minutes' },
  { kind: 'hourly', label: 'Hourly' },
  { kind: 'daily', label: 'Daily' },
  { kind: 'weekly', label: 'Weekly' },
  { kind: 'monthly', label: 'Monthly' },
]

/** Minute intervals that divide an hour evenly, the only ones cron repeats evenly. */
export const MINUTE_INTERVALS = [1, 2, 3, 4, 5, 6, 10, 12, 15, 20, 30]

/** A field that is out of range, with how to fix it. */
export class PresetError extends Error {
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(message)
  }
}

function checkTime(hour: number, minute: number) {
  if (!Number.isInteger(minute) || minute < 0 || minute > 59)
    throw new PresetError('minute', 'minute: use 0-59')
  if (!Number.isInteger(hour) || hour < 0 || hour > 23)
    throw new PresetError('hour', 'hour: use 0-23')
}

function dayList(days: Weekday[]): string {
  const numbers = [...new Set(days.map((d) => WEEKDAYS.indexOf(d)))].sort((a, b) => a - b)
  const parts: string[] = []
  for (let i = 0; i < numbers.length; ) {
    let j = i
    while (j + 1 < numbers.length && numbers[j + 1] === numbers[j] + 1) j++
    if (j >= i + 2) parts.push(`${WEEKDAYS[numbers[i]]}-${WEEKDAYS[numbers[j]]}`)
    else for (let k = i; k <= j; k++) parts.push(WEEKDAYS[numbers[k]])
    i = j + 1
  }
  return parts.join(',')
}

/** The canonical cron expression of a preset. */
export function toCron(preset: Preset): string {
  switch (preset.kind) {
    case 'everyMinutes':
      if (preset.interval === 1) return '* * * * *'
      if (!MINUTE_INTERVALS.includes(preset.interval))
        throw new PresetError(
          'interval',
          'interval: every N minutes needs N to divide 60 (1, 2, 3, 4, 5, 6, 10, 12, 15, 20 or 30)',
        )
      return `*/${preset.interval} * * * *`
    case 'hourly':
      checkTime(0, preset.minute)
      return `${preset.minute} * * * *`
    case 'daily':
      checkTime(preset.hour, preset.minute)
      return `${preset.minute} ${preset.hour} * * *`
    case 'weekly': {
      checkTime(preset.hour, preset.minute)
      const unique = new Set(preset.days)
      if (unique.size === 0) throw new PresetError('days', 'days: choose at least one day of the week')
      const dow = unique.size === 7 ? '*' : dayList(preset.days)
      return `${preset.minute} ${preset.hour} * * ${dow}`
    }
    case 'monthly':
      checkTime(preset.hour, preset.minute)
      if (!Number.isInteger(preset.day) || preset.day < 1 || preset.day > 31)
        throw new PresetError('day', 'day: use 1-31')
      return `${preset.minute} ${preset.hour} ${preset.day} * *`
  }
}

/** A sensible starting point when the user picks a preset tab. */
export function defaultPreset(kind: PresetKind, from?: Preset): Preset {
  const hour = from && 'hour' in from ? from.hour : 9
  const minute = from && 'minute' in from ? from.minute : 0
  switch (kind) {
    case 'everyMinutes':
      return { kind, interval: 15 }
    case 'hourly':
      return { kind, minute }
    case 'daily':
      return { kind, hour, minute }
    case 'weekly':
      return { kind, days: ['MON'], hour, minute }
    case 'monthly':
      return { kind, day: 1, hour, minute }
  }
}
