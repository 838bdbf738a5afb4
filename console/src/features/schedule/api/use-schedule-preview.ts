import { keepPreviousData, useQuery } from '@tanstack/react-query'
import { api } from '../../../api/client'
import type { SchedulePreview } from '../../../api/types'

/** The server's reading of a schedule: description, next runs, warnings, errors. */
export function useSchedulePreview(schedule: string, timeZone: string, count = 5) {
  return useQuery({
    queryKey: ['schedule-preview', schedule, timeZone, count],
    queryFn: () =>
      api<SchedulePreview>('/schedules/preview', {
        method: 'POST',
        json: { schedule, timeZone, count },
      }),
    placeholderData: keepPreviousData,
    staleTime: 30_000,
  })
}
