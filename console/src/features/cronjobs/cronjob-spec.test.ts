import type { CronJobSpec } from '../../api/types'
import { type FormFields, editedSpec } from './cronjob-spec'

/** A CronJob with every setting set, the form's and the others. */
const loaded: CronJobSpec = {
  schedule: '0 9 * * MON',
  timeZone: 'Europe/Berlin',
  template: { application: 'web', mode: 'follow' },
  command: { argv: ['echo hi'], shell: true },
  env: [
    { name: 'GREETING', value: 'hello' },
    { name: 'TOKEN', secret: { name: 'creds', key: 'token' } },
  ],
  labels: { team: 'billing' },
  resources: { requests: { cpu: '10m', memory: '16Mi' }, limits: { memory: '64Mi' } },
  historyRetention: { maxRuns: 50, maxAgeDays: 7 },
  concurrencyPolicy: 'Forbid',
  timeoutSeconds: 600,
  retries: 3,
  startingDeadlineSeconds: 120,
  successfulJobsHistoryLimit: 1,
  failedJobsHistoryLimit: 2,
  suspend: true,
}

/** The form as it opens on `loaded`: every form field as loaded. */
const form: FormFields = {
  schedule: '0 9 * * MON',
  timeZone: 'Europe/Berlin',
  template: { application: 'web', mode: 'follow' },
  command: { argv: ['echo hi'], shell: true },
  concurrencyPolicy: 'Forbid',
  timeoutSeconds: 600,
  retries: 3,
  startingDeadlineSeconds: 120,
  successfulJobsHistoryLimit: 1,
  failedJobsHistoryLimit: 2,
}

describe('the edited CronJob spec', () => {
  it('is the loaded spec when nothing changed', () => {
    expect(editedSpec(loaded, form)).toEqual(loaded)
  })

  it('keeps every setting the form has no control for and replaces the form fields', () => {
    const edited = editedSpec(loaded, {
      ...form,
      schedule: '30 4 * * *',
      timeZone: 'UTC',
      template: { application: 'api', mode: 'snapshot' },
      concurrencyPolicy: 'Allow',
      timeoutSeconds: 60,
      retries: 0,
      startingDeadlineSeconds: 30,
      successfulJobsHistoryLimit: 0,
      failedJobsHistoryLimit: 0,
    })
    expect(edited).toEqual({
      ...loaded,
      schedule: '30 4 * * *',
      timeZone: 'UTC',
      template: { application: 'api', mode: 'snapshot' },
      concurrencyPolicy: 'Allow',
      timeoutSeconds: 60,
      retries: 0,
      startingDeadlineSeconds: 30,
      successfulJobsHistoryLimit: 0,
      failedJobsHistoryLimit: 0,
    })
  })

  it('clears a form field the user cleared', () => {
    // Override unticked, an image instead of the template.
    const { command: _, template: __, ...rest } = form
    const edited = editedSpec(loaded, { ...rest, image: 'hks.local/busybox:1', command: undefined })
    expect(edited).not.toHaveProperty('command')
    expect(edited).not.toHaveProperty('template')
    expect(edited.image).toBe('hks.local/busybox:1')
    expect(edited.env).toEqual(loaded.env)
    expect(edited.labels).toEqual(loaded.labels)
  })

  it('drops the container settings when the job becomes a Function call, and keeps the rest', () => {
    const { command: _, template: __, ...rest } = form
    const edited = editedSpec(loaded, { ...rest, function: { name: 'greet', expect: ['2xx'] } })
    expect(edited.function).toEqual({ name: 'greet', expect: ['2xx'] })
    for (const field of ['template', 'image', 'command', 'env']) expect(edited).not.toHaveProperty(field)
    expect(edited.labels).toEqual(loaded.labels)
    expect(edited.resources).toEqual(loaded.resources)
    expect(edited.historyRetention).toEqual(loaded.historyRetention)
    expect(edited.suspend).toBe(true)
  })

  it('is just the form for a new CronJob', () => {
    const { command: _, ...noCommand } = form
    expect(editedSpec(undefined, { ...form, command: null })).toStrictEqual(noCommand)
  })
})
