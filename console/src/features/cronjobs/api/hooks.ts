// One query or mutation hook per endpoint of the CronJob API.

import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query'
import { api } from '../../../api/client'
import type { BackfillRequest, BackfillResult, CronJobSpec, CronJobSummary, CronJobView, Run, RunLogs, RunOverrides } from '../../../api/types'

const base = (project: string) => `/projects/${encodeURIComponent(project)}`
const one = (project: string, name: string) => `${base(project)}/cronjobs/${encodeURIComponent(name)}`

export function useCronJobs(project: string) {
  return useQuery({
    queryKey: ['cronjobs', project],
    queryFn: () => api<CronJobSummary[]>(`${base(project)}/cronjobs`),
    refetchInterval: 5_000,
  })
}

export function useCronJob(project: string, name: string) {
  return useQuery({
    queryKey: ['cronjob', project, name],
    queryFn: () => api<CronJobView>(one(project, name)),
    refetchInterval: 5_000,
  })
}

export function useRuns(project: string, name: string) {
  return useQuery({
    queryKey: ['runs', project, name],
    queryFn: () => api<Run[]>(`${one(project, name)}/runs`),
    refetchInterval: 3_000,
  })
}

function useInvalidate(project: string) {
  const qc = useQueryClient()
  return () => {
    void qc.invalidateQueries({ queryKey: ['cronjobs', project] })
    void qc.invalidateQueries({ queryKey: ['cronjob', project] })
    void qc.invalidateQueries({ queryKey: ['runs', project] })
    void qc.invalidateQueries({ queryKey: ['applications', project] })
  }
}

export function useRunNow(project: string) {
  const invalidate = useInvalidate(project)
  return useMutation({
    mutationFn: (name: string) => api<Run>(`${one(project, name)}/runs`, { method: 'POST' }),
    onSuccess: invalidate,
  })
}

/** Run now with one run's overrides (none: as configured). */
export function useRunWith(project: string) {
  const invalidate = useInvalidate(project)
  return useMutation({
    mutationFn: ({ name, overrides }: { name: string; overrides?: RunOverrides }) =>
      api<Run>(`${one(project, name)}/runs`, { method: 'POST', json: overrides }),
    onSuccess: invalidate,
  })
}

export function useRerun(project: string) {
  const invalidate = useInvalidate(project)
  return useMutation({
    mutationFn: ({ name, run }: { name: string; run: string }) =>
      api<Run>(`${one(project, name)}/runs/${encodeURIComponent(run)}/rerun`, { method: 'POST' }),
    onSuccess: invalidate,
  })
}

export function useBackfill(project: string) {
  const invalidate = useInvalidate(project)
  return useMutation({
    mutationFn: ({ name, request }: { name: string; request: BackfillRequest }) =>
      api<BackfillResult>(`${one(project, name)}/backfill`, { method: 'POST', json: request }),
    onSuccess: invalidate,
  })
}

export function useCancelRun(project: string) {
  const invalidate = useInvalidate(project)
  return useMutation({
    mutationFn: ({ name, run }: { name: string; run: string }) =>
      api<Run>(`${one(project, name)}/runs/${encodeURIComponent(run)}/cancel`, { method: 'POST' }),
    onSuccess: invalidate,
  })
}

export function useSetSuspended(project: string) {
  const invalidate = useInvalidate(project)
  return useMutation({
    mutationFn: ({ name, suspend, reason }: { name: string; suspend: boolean; reason?: string }) =>
      api<CronJobView>(`${one(project, name)}/${suspend ? 'suspend' : 'resume'}`, {
        method: 'POST',
        json: suspend && reason?.trim() ? { reason: reason.trim() } : undefined,
      }),
    onSuccess: invalidate,
  })
}

export function useSaveCronJob(project: string) {
  const invalidate = useInvalidate(project)
  return useMutation({
    mutationFn: ({ name, spec, existing }: { name: string; spec: CronJobSpec; existing: boolean }) =>
      existing
        ? api<CronJobView>(one(project, name), { method: 'PUT', json: spec })
        : api<CronJobView>(`${base(project)}/cronjobs`, { method: 'POST', json: { name, spec } }),
    onSuccess: invalidate,
  })
}

export function useDeleteCronJob(project: string) {
  const invalidate = useInvalidate(project)
  return useMutation({
    mutationFn: (name: string) =>
      api<void>(one(project, name), { method: 'DELETE' }),
    onSuccess: invalidate,
  })
}

export function useManifestPreview(project: string) {
  return useMutation({
    mutationFn: ({ name, spec }: { name: string; spec: CronJobSpec }) =>
      api<unknown>(`${base(project)}/manifests`, {
        method: 'POST',
        json: { name, type: 'cronjob', spec },
      }),
  })
}

export function useRunLogs(project: string, name: string, run: string, enabled: boolean) {
  return useQuery({
    queryKey: ['logs', project, name, run],
    queryFn: () => api<RunLogs>(`${one(project, name)}/runs/${encodeURIComponent(run)}/logs`),
    enabled,
  })
}
