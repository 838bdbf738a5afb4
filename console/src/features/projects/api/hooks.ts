import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query'
import { api } from '../../../api/client'
import type { Application, ApplicationType, Project } from '../../../api/types'

export function useProjects() {
  return useQuery({ queryKey: ['projects'], queryFn: () => api<Project[]>('/projects') })
}

export function useApplications(project: string, type?: ApplicationType) {
  return useQuery({
    queryKey: ['applications', project, type ?? 'all'],
    queryFn: () =>
      api<Application[]>(
        `/projects/${encodeURIComponent(project)}/applications${type ? `?type=${type}` : ''}`,
      ),
  })
}

export function useCreateApplication(project: string) {
  const qc = useQueryClient()
  return useMutation({
    mutationFn: (body: { name: string; type: ApplicationType; spec: unknown }) =>
      api<Application>(`/projects/${encodeURIComponent(project)}/applications`, { method: 'POST', json: body }),
    onSuccess: () => qc.invalidateQueries({ queryKey: ['applications', project] }),
  })
}
