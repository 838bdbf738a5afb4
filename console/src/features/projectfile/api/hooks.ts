// One hook per endpoint of a project's file: export (GET, YAML) and apply
// or preview (POST with `dryRun`).

import { useMutation, useQueryClient } from '@tanstack/react-query'
import { api, apiText } from '../../../api/client'
import type { ApplyFile, ApplyResult } from '../../../api/types'

const filePath = (project: string) => `/projects/${encodeURIComponent(project)}/file`

/** The project as a file, fetched when asked (an export is an action, not a view). */
export function useExportFile(project: string) {
  return useMutation({ mutationFn: () => apiText(filePath(project)) })
}

/** Apply a file, or with `dryRun` preview what applying would change. */
export function useApplyFile(project: string) {
  const qc = useQueryClient()
  return useMutation({
    mutationFn: (body: ApplyFile) => api<ApplyResult>(filePath(project), { method: 'POST', json: body }),
    onSuccess: (result) => {
      if (result.dryRun || result.changes.length === 0) return
      // Whatever the project shows may have changed.
      for (const key of ['applications', 'cronjobs', 'cronjob', 'alert-settings']) {
        qc.invalidateQueries({ queryKey: [key, project] })
      }
    },
  })
}
