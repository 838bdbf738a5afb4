// API types, generated from the server's OpenAPI document into schema.d.ts
// (`npm run gen:api`; dev/test fails when it is stale). Only the schedule
// preview is written by hand: the schedule engine's types carry no OpenAPI
// schema (the engine has no HTTP dependencies), so the document calls it Object.

import type { components } from './schema'

type S = components['schemas']

export type SchedulePreview = {
  valid: boolean
  schedule: string
  /** When the schedule uses H: the plain expression Kubernetes gets. */
  expandedSchedule?: string
  timeZone: string
  description?: string
  preset?: unknown
  nextRuns: { at: string; local: string; note?: { kind: 'repeated'; occurrence: number; message: string } }[]
  skipped: { wallTime: string; message: string }[]
  warnings: { code: string; message: string }[]
  errors: { input: 'schedule' | 'timeZone'; cronField?: string; code: string; message: string; kubernetesAccepts: boolean }[]
}

export type ApplicationType = S['ApplicationType']
export type SecretKeyRef = S['SecretKeyRef']
export type EnvVar = S['EnvVar']
export type ResourceList = S['ResourceList']
export type Resources = S['Resources']
export type StatelessSpec = S['StatelessSpec']
export type FunctionSpec = S['FunctionSpec']
export type ConcurrencyPolicy = S['ConcurrencyPolicy']
export type TemplateMode = S['TemplateMode']
export type CronJobSpec = S['CronJobSpec']
export type FunctionCall = S['FunctionCall']
export type HttpHeader = S['HttpHeader']
export type Project = S['ProjectView']
export type Application = S['ApplicationView']
export type RunResult = S['RunResult']
export type Attempt = S['Attempt']
export type Run = S['Run']
export type CronJobSummary = S['CronJobSummary']
export type ContainerSource = S['ContainerSource']
export type CronJobView = S['CronJobView']
export type RunLogs = S['RunLogs']
export type RunOverrides = S['RunOverrides']
export type BackfillRequest = S['BackfillRequest']
export type BackfillResult = S['BackfillResult']
export type Suspension = S['Suspension']
export type AlertRules = S['AlertRulesBody']
export type AlertSettingsView = S['AlertSettingsView']
export type PutAlertSettings = S['PutAlertSettings']
export type AlertView = S['AlertView']
export type DeliveryView = S['DeliveryView']
export type DestinationKind = S['DestinationKind']
export type DestinationBody = S['DestinationBody']
export type DestinationView = S['DestinationView']
export type TestDeliveryView = S['TestDeliveryView']
export type AuditPage = S['AuditPage']
export type AuditEntry = S['AuditEntry']
export type AuditAction = S['AuditAction']
export type AuditChange = S['AuditChange']
export type RunMark = S['RunMark']
export type ApplyFile = S['ApplyFile']
export type ApplyResult = S['ApplyResult']
export type Change = S['Change']
export type FieldChange = S['FieldChange']
