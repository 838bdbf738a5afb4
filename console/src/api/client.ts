// The one API client: every request to the HKS server goes through `api`,
// which adds the token and turns error responses into ApiError with the
// server's own words (code, message, field path).

const TOKEN_KEY = 'hks.token'

export function getToken(): string | null {
  return sessionStorage.getItem(TOKEN_KEY)
}

export function setToken(token: string | null) {
  if (token) sessionStorage.setItem(TOKEN_KEY, token)
  else sessionStorage.removeItem(TOKEN_KEY)
}

/** One invalid input, with its field path (e.g. `spec.schedule`) and, in a
 * project file, its line and column. */
export type Problem = { field: string; code: string; message: string; hint?: string; line?: number; column?: number }

/** An error as the API words it: `{code, message, problems}`. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly problems: Problem[] = [],
  ) {
    super(message)
  }

  /** The message for a field, matched with or without the `spec.` prefix. */
  forField(field: string): string | null {
    const norm = (f: string) => f.replace(/^spec\./, '')
    const p = this.problems.find((p) => norm(p.field) === norm(field) || norm(p.field).startsWith(`${norm(field)}.`) || norm(p.field).startsWith(`${norm(field)}[`))
    return p ? p.message : null
  }
}

type Body = { code?: string; message?: string; problems?: Problem[] }

export async function api<T>(path: string, init: RequestInit & { json?: unknown } = {}): Promise<T> {
  const headers = new Headers(init.headers)
  const token = getToken()
  if (token) headers.set('Authorization', `Bearer ${token}`)
  let body = init.body
  if (init.json !== undefined) {
    headers.set('Content-Type', 'application/json')
    body = JSON.stringify(init.json)
  }
  const res = await fetch(`/api/v1${path}`, { ...init, headers, body })
  if (res.status === 204) return undefined as T
  const text = await res.text()
  let data: unknown = {}
  try {
    data = text ? JSON.parse(text) : {}
  } catch {
    data = { message: text }
  }
  if (!res.ok) {
    const e = data as Body
    throw new ApiError(res.status, e.code ?? `http_${res.status}`, e.message ?? `${res.status} ${res.statusText}`, e.problems ?? [])
  }
  return data as T
}

/** A text answer (a project file): the body as it is; errors as `api`'s. */
export async function apiText(path: string): Promise<string> {
  const headers = new Headers()
  const token = getToken()
  if (token) headers.set('Authorization', `Bearer ${token}`)
  const res = await fetch(`/api/v1${path}`, { headers })
  const text = await res.text()
  if (!res.ok) {
    let e: Body = { message: text }
    try {
      e = JSON.parse(text) as Body
    } catch {
      // Not JSON: the text is the message.
    }
    throw new ApiError(res.status, e.code ?? `http_${res.status}`, e.message ?? `${res.status} ${res.statusText}`, e.problems ?? [])
  }
  return text
}

/** The log text of a run, streamed: calls onChunk as text arrives. */
export async function streamText(path: string, onChunk: (text: string) => void, signal: AbortSignal) {
  const headers = new Headers()
  const token = getToken()
  if (token) headers.set('Authorization', `Bearer ${token}`)
  const res = await fetch(`/api/v1${path}`, { headers, signal })
  if (!res.ok || !res.body) {
    const text = await res.text()
    let message = text
    try {
      message = (JSON.parse(text) as Body).message ?? text
    } catch {
      // Not JSON: show the text as it is.
    }
    throw new ApiError(res.status, `http_${res.status}`, message)
  }
  const reader = res.body.pipeThrough(new TextDecoderStream()).getReader()
  for (;;) {
    const { value, done } = await reader.read()
    if (done) break
    onChunk(value)
  }
}
