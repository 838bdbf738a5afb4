// One query or mutation hook per endpoint of the alerts API. `cronjob`
// undefined means the project's default settings.

import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query'
import { api } from '../../../api/client'
import type { AlertSettingsView, AlertView, PutAlertSettings, TestDeliveryView } from '../../../api/types'

const base = (project: string) => `/projects/${encodeURIComponent(project)}`
const settingsPath = (project: string, cronjob?: string) =>
  cronjob ? `${base(project)}/cronjobs/${encodeURIComponent(cronjob)}/alerts` : `${base(project)}/alerts`
const only = (cronjob?: string) => (cronjob ? `?cronjob=${encodeURIComponent(cronjob)}` : '')

export function useAlertSettings(project: string, cronjob?: string) {
  return useQuery({
    queryKey: ['alert-settings', project, cronjob ?? ''],
    queryFn: () => api<AlertSettingsView>(settingsPath(project, cronjob)),
  })
}

function useInvalidate(project: string) {
  const qc = useQueryClient()
  // A project's default shows through on every CronJob without its own.
  return () => qc.invalidateQueries({ queryKey: ['alert-settings', project] })
}

export function useSaveAlertSettings(project: string, cronjob?: string) {
  const invalidate = useInvalidate(project)
  return useMutation({
    mutationFn: (body: PutAlertSettings) =>
      api<AlertSettingsView>(settingsPath(project, cronjob), { method: 'PUT', json: body }),
    onSuccess: invalidate,
  })
}

export function useDeleteAlertSettings(project: string, cronjob?: string) {
  const invalidate = useInvalidate(project)
  return useMutation({
    mutationFn: () => api<void>(settingsPath(project, cronjob), { method: 'DELETE' }),
    onSuccess: invalidate,
  })
}

export function useAlertHistory(project: string, cronjob?: string) {
  return useQuery({
    queryKey: ['alert-history', project, cronjob ?? ''],
    queryFn: () => api<AlertView[]>(`${base(project)}/alerts/history${only(cronjob)}`),
    refetchInterval: 5_000,
  })
}

export function useTestAlert(project: string, cronjob?: string) {
  return useMutation({
    mutationFn: () => api<TestDeliveryView>(`${base(project)}/alerts/test${only(cronjob)}`, { method: 'POST' }),
  })
}
