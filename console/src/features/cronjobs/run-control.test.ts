import { describe, expect, it } from 'vitest'
import type { Run } from '../../api/types'
import { canBackfill, canRerun, noOverrides, overridesBody, triggerLabel } from './run-control'

const run = (r: Partial<Run>): Run =>
  ({ name: 'r', trigger: 'scheduled', result: 'Succeeded', attempts: [], inCluster: true, ...r }) as Run

describe('overridesBody', () => {
  it('is no body when nothing is overridden', () => {
    expect(overridesBody(noOverrides)).toEqual({ body: undefined, problems: {} })
  })

  it('turns the fields into the API body, secrets as references', () => {
    const { body, problems } = overridesBody({
      command: ' echo "$MODE" ',
      env: 'MODE=once\n\nTOKEN=secret:api/token\nEMPTY=',
      timeout: '120',
    })
    expect(problems).toEqual({})
    expect(body).toEqual({
      command: { argv: ['echo "$MODE"'], shell: true },
      env: [
        { name: 'MODE', value: 'once' },
        { name: 'TOKEN', secret: { name: 'api', key: 'token' } },
        { name: 'EMPTY', value: '' },
      ],
      timeoutSeconds: 120,
    })
  })

  it('names the field of a line or a timeout it cannot read', () => {
    const { problems } = overridesBody({ command: '', env: 'OK=1\nnot a variable', timeout: '1.5' })
    expect(problems.env).toMatch(/line 2/)
    expect(problems.timeoutSeconds).toMatch(/whole number/)
  })
})

describe('run control', () => {
  it('says how a run came about', () => {
    expect(triggerLabel(run({}))).toBe('Scheduled')
    expect(triggerLabel(run({ trigger: 'rerun', rerunOf: 'n-1', triggeredBy: 'acme/ci' }))).toBe('Re-run of n-1 by acme/ci')
    expect(triggerLabel(run({ trigger: 'backfill', triggeredBy: 'acme/ci' }))).toBe('Backfill by acme/ci')
  })

  it('re-runs what ran and backfills a recent missed time once', () => {
    const now = Date.parse('2026-11-27T12:00:00Z')
    const missed = run({ result: 'Missed', scheduledAt: '2026-11-27T03:00:00Z' })
    expect(canRerun(missed)).toBe(false)
    expect(canRerun(run({ result: 'Failed' }))).toBe(true)
    expect(canBackfill(missed, now)).toBe(true)
    expect(canBackfill({ ...missed, backfilledBy: 'x-1' }, now)).toBe(false)
    expect(canBackfill({ ...missed, scheduledAt: '2026-11-19T03:00:00Z' }, now)).toBe(false)
  })
})
