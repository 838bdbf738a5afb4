import type { Change } from '../../api/types'
import { changeTitle, fieldLine, givenValues, missingValues, place, relativeField } from './project-file'

const update: Change = {
  action: 'update',
  kind: 'cronjob',
  name: 'nightly',
  path: 'cronjobs.nightly',
  fields: [
    { path: 'cronjobs.nightly.schedule', before: '0 3 * * *', after: '0 4 * * *' },
    { path: 'cronjobs.nightly.labels["app/tier"]', after: 'batch' },
  ],
}

describe('project file changes', () => {
  it('reads as hks diff prints them', () => {
    expect(changeTitle(update)).toEqual({ mark: '~', verb: 'change' })
    expect(changeTitle({ ...update, action: 'create' }).mark).toBe('+')
    expect(changeTitle({ ...update, action: 'delete' }).verb).toBe('delete')
    expect(relativeField(update, update.fields![0])).toBe('schedule')
    expect(relativeField(update, update.fields![1])).toBe('labels["app/tier"]')
    expect(fieldLine(update, update.fields![0])).toBe('schedule: "0 3 * * *" → "0 4 * * *"')
    expect(fieldLine(update, update.fields![1])).toBe('labels["app/tier"]: (none) → "batch"')
    expect(fieldLine({ ...update, action: 'create' }, update.fields![0])).toBe('schedule: "0 4 * * *"')
  })

  it('never shows a secret, only where it is read from', () => {
    const alerts: Change = { action: 'update', kind: 'alerts', path: 'alerts', fields: [] }
    const same = { fromEnv: 'HOOK_SECRET' }
    expect(fieldLine(alerts, { path: 'alerts.webhook.secret', before: same, after: same, secret: true })).toBe(
      'webhook.secret: a new value from {"fromEnv":"HOOK_SECRET"} (values are never shown)',
    )
    expect(fieldLine(alerts, { path: 'alerts.webhook.url', before: 'set through the API', after: { fromFile: 'u' }, secret: true })).toBe(
      'webhook.url: "set through the API" → {"fromFile":"u"} (values are never shown)',
    )
  })
})

describe('project file problems', () => {
  it('say where they are and which values are missing', () => {
    const problems = [
      { field: 'cronjobs.nightly.schedule', code: 'invalid_field', message: 'bad', line: 7, column: 5 },
      { field: 'alerts.webhook.secret', code: 'secret_value_missing', message: 'no value' },
    ]
    expect(place(problems[0])).toBe('line 7, column 5')
    expect(place(problems[1])).toBe('')
    expect(missingValues(problems)).toEqual(['alerts.webhook.secret'])
    expect(givenValues({ a: 'x', b: '' })).toEqual({ a: 'x' })
  })
})
