import { keepPreviousData, useQuery } from '@tanstack/react-query'
import { api } from '../../../api/client'
import type { SchedulePreview } from '../../../api/types'

/** The server's reading of a schedule: description, next runs, warnings, errors. */
/**
 * The server's preview of a schedule. `identity` (the CronJob's project and
 * name) is what `H` in the schedule takes its values from.
 */
export function useSchedulePreview(
  schedule: string,
  timeZone: string,
  identity?: { project: string; name: string },
  count = 5,
) {
  const { project, name } = identity ?? {}
  return useQuery({
    queryKey: ['schedule-preview', schedule, timeZone, project, name, count],
    queryFn: () =>
      api<SchedulePreview>('/schedules/preview', {
        method: 'POST',
        json: { schedule, timeZone, count, project, name },
      }),
    placeholderData: keepPreviousData,
    staleTime: 30_000,
  })
}
