// A small accessible component set: native elements with visible labels, so
// every control has an accessible name and works with the keyboard.

import { type ReactNode, useEffect, useId, useRef } from 'react'

export function Button({
  children,
  variant = 'default',
  ...rest
}: React.ButtonHTMLAttributes<HTMLButtonElement> & { variant?: 'default' | 'primary' | 'danger' }) {
  return (
    <button type="button" className={`btn btn-${variant}`} {...rest}>
      {children}
    </button>
  )
}

export function Field({
  label,
  hint,
  error,
  children,
}: {
  label: string
  hint?: ReactNode
  error?: string | null
  children: (props: { id: string; 'aria-describedby'?: string; 'aria-invalid'?: boolean }) => ReactNode
}) {
  const id = useId()
  const hintId = `${id}-hint`
  const errorId = `${id}-error`
  const describedBy = [hint ? hintId : '', error ? errorId : ''].filter(Boolean).join(' ') || undefined
  return (
    <div className="field">
      <label htmlFor={id}>{label}</label>
      {children({ id, 'aria-describedby': describedBy, 'aria-invalid': error ? true : undefined })}
      {hint && (
        <p className="hint" id={hintId}>
          {hint}
        </p>
      )}
      {error && (
        <p className="error" id={errorId} role="alert">
          {error}
        </p>
      )}
    </div>
  )
}

export type Tone = 'ok' | 'bad' | 'busy' | 'idle' | 'warn'

export function Badge({ tone, children }: { tone: Tone; children: ReactNode }) {
  return <span className={`badge badge-${tone}`}>{children}</span>
}

export function ErrorBox({ error }: { error: unknown }) {
  if (!error) return null
  const message = error instanceof Error ? error.message : String(error)
  return (
    <div className="error-box" role="alert">
      {message}
    </div>
  )
}

/** A native <dialog> shown modally while `open` (so focus and Escape work). */
function useModal(open: boolean) {
  const ref = useRef<HTMLDialogElement>(null)
  useEffect(() => {
    const dialog = ref.current
    if (!dialog) return
    if (open && !dialog.open) dialog.showModal?.()
    if (!open && dialog.open) dialog.close()
  }, [open])
  return ref
}

/** A confirmation dialog (native <dialog>, so focus and Escape work). */
export function ConfirmDialog({
  open,
  title,
  children,
  confirmLabel,
  onConfirm,
  onCancel,
}: {
  open: boolean
  title: string
  children: ReactNode
  confirmLabel: string
  onConfirm: () => void
  onCancel: () => void
}) {
  const ref = useModal(open)
  const titleId = useId()
  return (
    <dialog ref={ref} aria-labelledby={titleId} onCancel={onCancel}>
      <h2 id={titleId}>{title}</h2>
      {children}
      <div className="actions">
        <Button onClick={onCancel}>Cancel</Button>
        <Button variant="danger" onClick={onConfirm}>
          {confirmLabel}
        </Button>
      </div>
    </dialog>
  )
}

/** A dialog holding a form: submitting it (button or Enter) calls `onSubmit`. */
export function FormDialog({
  open,
  title,
  children,
  submitLabel,
  busy = false,
  onSubmit,
  onCancel,
}: {
  open: boolean
  title: string
  children: ReactNode
  submitLabel: string
  busy?: boolean
  onSubmit: () => void
  onCancel: () => void
}) {
  const ref = useModal(open)
  const titleId = useId()
  return (
    <dialog ref={ref} aria-labelledby={titleId} onCancel={onCancel}>
      <form
        onSubmit={(e) => {
          e.preventDefault()
          onSubmit()
        }}
      >
        <h2 id={titleId}>{title}</h2>
        {children}
        <div className="actions">
          <Button onClick={onCancel}>Cancel</Button>
          <button type="submit" className="btn btn-primary" disabled={busy}>
            {submitLabel}
          </button>
        </div>
      </form>
    </dialog>
  )
}

const relative = new Intl.RelativeTimeFormat(undefined, { numeric: 'auto' })

/** "3 minutes ago" with the absolute local time on hover and for screen readers. */
export function RelativeTime({ at, now = Date.now() }: { at: string; now?: number }) {
  const date = new Date(at)
  const seconds = Math.round((date.getTime() - now) / 1000)
  const abs = Math.abs(seconds)
  const [value, unit]: [number, Intl.RelativeTimeFormatUnit] =
    abs < 60
      ? [seconds, 'second']
      : abs < 3600
        ? [Math.round(seconds / 60), 'minute']
        : abs < 86400
          ? [Math.round(seconds / 3600), 'hour']
          : [Math.round(seconds / 86400), 'day']
  const absolute = date.toLocaleString()
  return (
    <time dateTime={at} title={absolute}>
      {relative.format(value, unit)} <span className="muted">({absolute})</span>
    </time>
  )
}
