import type { CronJobSummary, Run } from '../../api/types'
import { cronJobState, effectiveCommand, formatDuration, runLabel, runTone } from './run-health'

const run = (over: Partial<Run>): Run => ({ name: 'r', trigger: 'scheduled', result: 'Succeeded', attempts: [], ...over })

describe('run health', () => {
  it('words failures with reason and exit code', () => {
    expect(runLabel(run({ result: 'Failed', reason: 'OOMKilled', exitCode: 137 }))).toBe('Failed: OOMKilled, exit 137')
    expect(runLabel(run({ result: 'Failed' }))).toBe('Failed')
    expect(runLabel(undefined)).toBe('Never run')
    expect(runLabel(run({ result: 'Cancelled', cancelledBy: 'acme/ci' }))).toBe('Cancelled by acme/ci')
    expect(runTone(run({ result: 'Cancelled' }))).toBe('warn')
    expect(runTone(run({ result: 'Running' }))).toBe('busy')
    expect(runTone(undefined)).toBe('idle')
  })

  it('formats durations', () => {
    expect(formatDuration(45)).toBe('45 s')
    expect(formatDuration(120)).toBe('2 min')
    expect(formatDuration(3725)).toBe('1 h 2 min')
    expect(formatDuration(undefined)).toBe('—')
  })

  it('shows suspension before activity', () => {
    const c = { suspended: true, active: 1 } as CronJobSummary
    expect(cronJobState(c).label).toBe('Suspended')
    expect(cronJobState({ ...c, suspended: false }).label).toBe('Running')
  })

  it('shows the effective command', () => {
    expect(effectiveCommand(['echo', 'hello world'], false)).toBe("echo 'hello world'")
    expect(effectiveCommand(['echo $HOME', '&&', 'date'], true)).toBe("sh -c 'echo $HOME && date'")
  })
})
