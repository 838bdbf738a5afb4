import vectors from '../../../../crates/hks-schedule/tests/preset-vectors.json'
import { initialState, reduce } from './editor-state'
import { type Preset, PresetError, toCron } from './presets'

describe('toCron', () => {
  it.each(vectors as { preset: Preset; cron: string }[])(
    'matches the Rust engine for $cron',
    ({ preset, cron }) => {
      expect(toCron(preset)).toBe(cron)
    },
  )

  it('names the field that is out of range', () => {
    expect(() => toCron({ kind: 'everyMinutes', interval: 7 })).toThrow(PresetError)
    expect(() => toCron({ kind: 'daily', hour: 24, minute: 0 })).toThrow('hour: use 0-23')
    expect(() => toCron({ kind: 'weekly', days: [], hour: 1, minute: 0 })).toThrow('days')
  })
})

describe('schedule editor state', () => {
  it('keeps the raw spelling across a visit to the presets', () => {
    let s = initialState('0 9 * * 1-5')
    expect(s.view).toBe('cron')
    const recognised: Preset = { kind: 'weekly', days: ['MON', 'TUE', 'WED', 'THU', 'FRI'], hour: 9, minute: 0 }
    s = reduce(s, { type: 'recognised', preset: recognised })
    s = reduce(s, { type: 'showPresets', recognised })
    expect(s.view).toBe('preset')
    expect(s.preset).toEqual(recognised)
    s = reduce(s, { type: 'showCron' })
    expect(s.cron).toBe('0 9 * * 1-5')
  })

  it('turns preset edits into cron', () => {
    let s = initialState('')
    s = reduce(s, { type: 'choosePreset', kind: 'weekly' })
    expect(s.cron).toBe('0 9 * * MON')
    s = reduce(s, { type: 'editPreset', preset: { kind: 'weekly', days: ['MON', 'WED'], hour: 7, minute: 30 } })
    expect(s.cron).toBe('30 7 * * MON,WED')
    s = reduce(s, { type: 'showCron' })
    s = reduce(s, { type: 'editCron', cron: '30 7 * * MON,WED,FRI' })
    expect(s.preset).toBeNull()
  })

  it('keeps the last valid cron while a preset field is invalid', () => {
    let s = reduce(initialState(''), { type: 'choosePreset', kind: 'daily' })
    s = reduce(s, { type: 'editPreset', preset: { kind: 'daily', hour: 25, minute: 0 } })
    expect(s.presetError).toBe('hour: use 0-23')
    expect(s.cron).toBe('0 9 * * *')
  })

  it('carries the time of day from one preset to the next', () => {
    let s = reduce(initialState(''), { type: 'choosePreset', kind: 'daily' })
    s = reduce(s, { type: 'editPreset', preset: { kind: 'daily', hour: 18, minute: 45 } })
    s = reduce(s, { type: 'choosePreset', kind: 'monthly' })
    expect(s.cron).toBe('45 18 1 * *')
  })
})
