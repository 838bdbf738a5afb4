// The server's defaults, read from its OpenAPI document (the same file
// `npm run gen:api` generates the types from), so the console starts a form
// with what the server would fill in, never with a copy that can drift.
import document from '../../../crates/hks-api/openapi.json'

type Schemas = Record<string, { properties?: Record<string, { default?: unknown }> }>

const schemas = (document as unknown as { components: { schemas: Schemas } }).components.schemas

/** The default the document states for `schema.property`; throws when it states none. */
export function serverDefault<T>(schema: string, property: string): T {
  const value = schemas[schema]?.properties?.[property]?.default
  if (value === undefined) throw new Error(`the API document states no default for ${schema}.${property}`)
  return value as T
}

/** The defaults of a CronJob the form starts with. */
export const CRONJOB_DEFAULTS = {
  concurrencyPolicy: serverDefault<'Forbid' | 'Allow' | 'Replace'>('CronJobSpec', 'concurrencyPolicy'),
  timeoutSeconds: serverDefault<number>('CronJobSpec', 'timeoutSeconds'),
  retries: serverDefault<number>('CronJobSpec', 'retries'),
  startingDeadlineSeconds: serverDefault<number>('CronJobSpec', 'startingDeadlineSeconds'),
  successfulJobsHistoryLimit: serverDefault<number>('CronJobSpec', 'successfulJobsHistoryLimit'),
  failedJobsHistoryLimit: serverDefault<number>('CronJobSpec', 'failedJobsHistoryLimit'),
}

/** The defaults of a Function call. */
export const CALL_DEFAULTS = {
  requestTimeoutSeconds: serverDefault<number>('FunctionCall', 'requestTimeoutSeconds'),
  retries: serverDefault<number>('FunctionCall', 'retries'),
  backoffSeconds: serverDefault<number>('FunctionCall', 'backoffSeconds'),
  expect: serverDefault<string[]>('FunctionCall', 'expect'),
}
