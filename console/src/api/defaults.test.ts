import { CALL_DEFAULTS, CRONJOB_DEFAULTS, serverDefault } from './defaults'

describe('the server defaults', () => {
  it('come from the API document', () => {
    // The values the server fills in (hks_core's serde defaults), as its document states them.
    expect(CRONJOB_DEFAULTS).toEqual({
      concurrencyPolicy: 'Forbid',
      timeoutSeconds: 3600,
      retries: 2,
      startingDeadlineSeconds: 300,
      successfulJobsHistoryLimit: 3,
      failedJobsHistoryLimit: 3,
    })
    expect(CALL_DEFAULTS).toEqual({ requestTimeoutSeconds: 30, retries: 2, backoffSeconds: 2, expect: ['2xx'] })
  })

  it('refuse a property the document has no default for', () => {
    expect(() => serverDefault('CronJobSpec', 'schedule')).toThrow(/no default for CronJobSpec.schedule/)
  })
})
