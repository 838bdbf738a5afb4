// API types. Until the OpenAPI document is generated into schema.d.ts these
// mirror the server's DTOs by hand; see `npm run gen:api`.

export type SchedulePreview = {
  valid: boolean
  schedule: string
  timeZone: string
  description?: string
  preset?: unknown
  nextRuns: { at: string; local: string; note?: { kind: 'repeated'; occurrence: number; message: string } }[]
  skipped: { wallTime: string; message: string }[]
  warnings: { code: string; message: string }[]
  errors: { input: 'schedule' | 'timeZone'; cronField?: string; code: string; message: string; kubernetesAccepts: boolean }[]
}

export type ApplicationType = 'stateless' | 'cronjob' | 'function'

export type SecretKeyRef = { name: string; key: string }
export type EnvVar = { name: string; value?: string; secret?: SecretKeyRef }
export type ResourceList = { cpu?: string; memory?: string }
export type Resources = { requests?: ResourceList; limits?: ResourceList }

export type StatelessSpec = {
  image: string
  command?: string[]
  args?: string[]
  env?: EnvVar[]
  resources?: Resources
  port?: number
  replicas?: number
}

export type FunctionSpec = { endpoint: string; method: string; tokenSecret?: SecretKeyRef }

export type ConcurrencyPolicy = 'Allow' | 'Forbid' | 'Replace'
export type TemplateMode = 'follow' | 'snapshot'

export type CronJobSpec = {
  schedule: string
  timeZone: string
  template?: { application: string; mode: TemplateMode }
  image?: string
  command?: { argv: string[]; shell: boolean }
  env?: EnvVar[]
  resources?: Resources
  concurrencyPolicy?: ConcurrencyPolicy
  timeoutSeconds?: number
  retries?: number
  startingDeadlineSeconds?: number
  successfulJobsHistoryLimit?: number
  failedJobsHistoryLimit?: number
  suspend?: boolean
}

export type Project = { name: string; namespace: string; createdAt: string }

export type Application = {
  name: string
  type: ApplicationType
  spec: StatelessSpec | CronJobSpec | FunctionSpec
  generation: number
  createdAt: string
  updatedAt: string
}

export type RunResult = 'Pending' | 'Running' | 'Succeeded' | 'Failed' | 'Suspended'

export type Attempt = {
  pod: string
  phase: string
  startedAt?: string
  finishedAt?: string
  exitCode?: number
  reason?: string
}

export type Run = {
  name: string
  trigger: 'scheduled' | 'manual'
  triggeredBy?: string
  scheduledAt?: string
  createdAt?: string
  startedAt?: string
  finishedAt?: string
  durationSeconds?: number
  result: RunResult
  reason?: string
  message?: string
  exitCode?: number
  attempts: Attempt[]
}

export type CronJobSummary = {
  name: string
  schedule: string
  timeZone: string
  description?: string
  nextRun?: string
  suspended: boolean
  templateMode?: TemplateMode
  template?: string
  lastRun?: Run
  active: number
  clusterState: string
}

export type ContainerSource = {
  image: string
  command?: string[]
  args?: string[]
  env?: EnvVar[]
  resources?: Resources
}

export type CronJobView = CronJobSummary & {
  spec: CronJobSpec
  container?: ContainerSource
  nextRuns: string[]
  generation: number
  createdAt: string
  updatedAt: string
}

export type RunLogs = { run: string; attempts: { pod: string; log: string }[] }
