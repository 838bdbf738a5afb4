import { useEffect, useMemo, useReducer, useState } from 'react'
import { Field } from '../../../components/ui'
import { useSchedulePreview } from '../api/use-schedule-preview'
import { initialState, reduce } from '../editor-state'
import {
  MINUTE_INTERVALS,
  PRESET_KINDS,
  type Preset,
  WEEKDAYS,
  WEEKDAY_NAMES,
  type Weekday,
} from '../presets'

export function browserTimeZone(): string {
  const zone = Intl.DateTimeFormat().resolvedOptions().timeZone
  return zone && zone.includes('/') ? zone : 'UTC'
}

const ZONES: string[] = (() => {
  try {
    return ['UTC', ...Intl.supportedValuesOf('timeZone')]
  } catch {
    return ['UTC']
  }
})()

function useDebounced<T>(value: T, ms: number): T {
  const [debounced, setDebounced] = useState(value)
  useEffect(() => {
    const t = setTimeout(() => setDebounced(value), ms)
    return () => clearTimeout(t)
  }, [value, ms])
  return debounced
}

type Props = {
  schedule: string
  timeZone: string
  onChange: (schedule: string, timeZone: string) => void
  /** Set when the server refused the schedule on save. */
  serverError?: string | null
  /** The CronJob's project and name: what `H` in the schedule takes its values from. */
  identity?: { project: string; name: string }
}

/** Preset tabs and a raw cron field over one expression, with a live preview. */
export function ScheduleEditor({ schedule, timeZone, onChange, serverError, identity }: Props) {
  const [state, dispatch] = useReducer(reduce, schedule, (s) => initialState(s))
  const debounced = useDebounced(state.cron, 250)
  const zone = useDebounced(timeZone, 250)
  const name = useDebounced(identity?.name ?? '', 250)
  const preview = useSchedulePreview(debounced, zone, identity && name ? { project: identity.project, name } : undefined)

  useEffect(() => {
    if (state.cron !== schedule) onChange(state.cron, timeZone)
  }, [state.cron, schedule, timeZone, onChange])

  const recognised = preview.data?.valid ? ((preview.data.preset as Preset | undefined) ?? null) : null
  useEffect(() => {
    if (preview.data && preview.data.schedule === state.cron) dispatch({ type: 'recognised', preset: recognised })
  }, [preview.data])

  return (
    <fieldset className="schedule-editor">
      <legend>Schedule</legend>
      <div role="tablist" aria-label="Schedule editor">
        {PRESET_KINDS.map(({ kind, label }) => (
          <button
            key={kind}
            type="button"
            role="tab"
            aria-selected={state.view === 'preset' && state.preset?.kind === kind}
            onClick={() =>
              state.preset?.kind === kind && state.view === 'cron'
                ? dispatch({ type: 'showPresets', recognised })
                : dispatch({ type: 'choosePreset', kind })
            }
          >
            {label}
          </button>
        ))}
        <button
          type="button"
          role="tab"
          aria-selected={state.view === 'cron'}
          onClick={() => dispatch({ type: 'showCron' })}
        >
          Cron expression
        </button>
      </div>

      <div role="tabpanel" className="tab-panel">
        {state.view === 'cron' || !state.preset ? (
          <Field
            label="Cron expression"
            hint="5 fields: minute hour day-of-month month day-of-week, e.g. 0 9 * * MON-FRI. Sunday is 0. H in the minute or hour (H, H(0-29), H/15) is a value chosen from the CronJob's name, to spread jobs out."
          >
            {(p) => (
              <input
                {...p}
                className="mono"
                value={state.cron}
                spellCheck={false}
                autoComplete="off"
                onChange={(e) => dispatch({ type: 'editCron', cron: e.target.value })}
              />
            )}
          </Field>
        ) : (
          <PresetFields preset={state.preset} onChange={(preset) => dispatch({ type: 'editPreset', preset })} />
        )}
        {state.presetError && (
          <p className="error" role="alert">
            {state.presetError}
          </p>
        )}
        {state.view === 'preset' && state.preset && (
          <p className="hint">
            Cron: <code>{state.cron}</code>
          </p>
        )}
      </div>

      <Field label="Time zone" hint="The job runs on this zone's clock, daylight saving included.">
        {(p) => (
          <>
            <input
              {...p}
              list="hks-time-zones"
              value={timeZone}
              autoComplete="off"
              onChange={(e) => onChange(state.cron, e.target.value)}
            />
            <datalist id="hks-time-zones">
              {ZONES.map((z) => (
                <option key={z} value={z} />
              ))}
            </datalist>
          </>
        )}
      </Field>

      <SchedulePreviewPanel preview={preview.data} stale={debounced !== state.cron} serverError={serverError} />
    </fieldset>
  )
}

function NumberInput({
  label,
  value,
  min,
  max,
  onChange,
}: {
  label: string
  value: number
  min: number
  max: number
  onChange: (n: number) => void
}) {
  return (
    <Field label={label}>
      {(p) => (
        <input
          {...p}
          type="number"
          min={min}
          max={max}
          value={Number.isNaN(value) ? '' : value}
          onChange={(e) => onChange(e.target.valueAsNumber)}
        />
      )}
    </Field>
  )
}

function TimeInput({ hour, minute, onChange }: { hour: number; minute: number; onChange: (h: number, m: number) => void }) {
  const value = `${String(hour).padStart(2, '0')}:${String(minute).padStart(2, '0')}`
  return (
    <Field label="Time of day">
      {(p) => (
        <input
          {...p}
          type="time"
          value={value}
          onChange={(e) => {
            const [h, m] = e.target.value.split(':').map(Number)
            if (!Number.isNaN(h) && !Number.isNaN(m)) onChange(h, m)
          }}
        />
      )}
    </Field>
  )
}

function PresetFields({ preset, onChange }: { preset: Preset; onChange: (p: Preset) => void }) {
  switch (preset.kind) {
    case 'everyMinutes':
      return (
        <Field label="Interval in minutes" hint="Only intervals that divide 60 repeat evenly in cron.">
          {(p) => (
            <select {...p} value={preset.interval} onChange={(e) => onChange({ ...preset, interval: Number(e.target.value) })}>
              {MINUTE_INTERVALS.map((n) => (
                <option key={n} value={n}>
                  {n}
                </option>
              ))}
            </select>
          )}
        </Field>
      )
    case 'hourly':
      return (
        <NumberInput label="Minute past the hour" value={preset.minute} min={0} max={59} onChange={(minute) => onChange({ ...preset, minute })} />
      )
    case 'daily':
      return <TimeInput hour={preset.hour} minute={preset.minute} onChange={(hour, minute) => onChange({ ...preset, hour, minute })} />
    case 'weekly':
      return (
        <>
          <fieldset className="days">
            <legend>Days of the week</legend>
            {WEEKDAYS.map((d: Weekday) => (
              <label key={d} className="check">
                <input
                  type="checkbox"
                  checked={preset.days.includes(d)}
                  onChange={(e) =>
                    onChange({
                      ...preset,
                      days: e.target.checked ? [...preset.days, d] : preset.days.filter((x) => x !== d),
                    })
                  }
                />
                {WEEKDAY_NAMES[d]}
              </label>
            ))}
          </fieldset>
          <TimeInput hour={preset.hour} minute={preset.minute} onChange={(hour, minute) => onChange({ ...preset, hour, minute })} />
        </>
      )
    case 'monthly':
      return (
        <>
          <NumberInput label="Day of the month" value={preset.day} min={1} max={31} onChange={(day) => onChange({ ...preset, day })} />
          <TimeInput hour={preset.hour} minute={preset.minute} onChange={(hour, minute) => onChange({ ...preset, hour, minute })} />
        </>
      )
  }
}

import type { SchedulePreview } from '../../../api/types'

function SchedulePreviewPanel({
  preview,
  stale,
  serverError,
}: {
  preview: SchedulePreview | undefined
  stale: boolean
  serverError?: string | null
}) {
  const viewerZone = useMemo(() => browserTimeZone(), [])
  if (!preview) return <p className="muted">Reading the schedule…</p>
  return (
    <section aria-label="Schedule preview" aria-busy={stale} className="preview">
      {serverError && (
        <p className="error" role="alert">
          {serverError}
        </p>
      )}
      {preview.errors.map((e) => (
        <p key={e.code + e.message} className="error" role="alert">
          {e.input === 'timeZone' ? 'Time zone: ' : 'Schedule: '}
          {e.message}
        </p>
      ))}
      {preview.valid && (
        <>
          <p className="description" aria-live="polite">
            {preview.description}
          </p>
          {preview.expandedSchedule && (
            <p className="hint">
              Kubernetes runs <code>{preview.expandedSchedule}</code>: each H is a value chosen from this CronJob&apos;s
              project and name, the same every time.
            </p>
          )}
          <table className="runs">
            <caption>Next runs</caption>
            <thead>
              <tr>
                <th scope="col">In {preview.timeZone}</th>
                <th scope="col">Your time ({viewerZone})</th>
                <th scope="col">Note</th>
              </tr>
            </thead>
            <tbody>
              {preview.nextRuns.map((r) => (
                <tr key={r.at}>
                  <td className="mono">{r.local.replace('T', ' ')}</td>
                  <td>{new Date(r.at).toLocaleString()}</td>
                  <td>{r.note?.message ?? ''}</td>
                </tr>
              ))}
            </tbody>
          </table>
          {preview.skipped.map((s) => (
            <p key={s.wallTime} className="warn">
              Skipped: {s.message}
            </p>
          ))}
          {preview.warnings.map((w) => (
            <p key={w.code} className="warn" role="note">
              {w.message}
            </p>
          ))}
        </>
      )}
    </section>
  )
}
