// The "call a Function" mode of the CronJob form, as pure functions: the form
// keeps text and rows, the API wants a FunctionCall.

import { CALL_DEFAULTS } from '../../api/defaults'
import type { FunctionCall, HttpHeader } from '../../api/types'

/** What the form edits. Numbers may be NaN while a field is empty. */
export type FunctionCallInput = {
  name: string
  /** '' means the Function's own method. */
  method: string
  headers: HttpHeader[]
  body: string
  requestTimeoutSeconds: number
  retries: number
  backoffSeconds: number
  /** Status codes or classes separated by commas or spaces; empty means any 2xx. */
  expect: string
}

export const DEFAULT_CALL: Omit<FunctionCallInput, 'name'> = {
  method: '',
  headers: [],
  body: '',
  requestTimeoutSeconds: CALL_DEFAULTS.requestTimeoutSeconds,
  retries: CALL_DEFAULTS.retries,
  backoffSeconds: CALL_DEFAULTS.backoffSeconds,
  expect: CALL_DEFAULTS.expect.join(', '),
}

/** `"200, 204"` → `["200", "204"]`; nothing → any 2xx. */
export function parseExpect(text: string): string[] {
  const codes = text
    .split(/[\s,]+/)
    .map((c) => c.trim().toLowerCase())
    .filter(Boolean)
  return codes.length ? codes : ['2xx']
}

/** The API's FunctionCall: empty header rows and an empty body are left out. */
export function toFunctionCall(input: FunctionCallInput): FunctionCall {
  const headers = input.headers.filter((h) => h.name.trim() !== '' || h.value.trim() !== '')
  return {
    name: input.name,
    ...(input.method ? { method: input.method as NonNullable<FunctionCall['method']> } : {}),
    ...(headers.length ? { headers: headers.map((h) => ({ name: h.name.trim(), value: h.value })) } : {}),
    ...(input.body !== '' ? { body: input.body } : {}),
    requestTimeoutSeconds: input.requestTimeoutSeconds,
    retries: input.retries,
    backoffSeconds: input.backoffSeconds,
    expect: parseExpect(input.expect),
  }
}

/** The form's state for a stored call (or the defaults). */
export function fromFunctionCall(call: FunctionCall | null | undefined): FunctionCallInput {
  if (!call) return { name: '', ...DEFAULT_CALL }
  return {
    name: call.name,
    method: call.method ?? '',
    headers: call.headers ?? [],
    body: call.body ?? '',
    requestTimeoutSeconds: call.requestTimeoutSeconds ?? DEFAULT_CALL.requestTimeoutSeconds,
    retries: call.retries ?? DEFAULT_CALL.retries,
    backoffSeconds: call.backoffSeconds ?? DEFAULT_CALL.backoffSeconds,
    expect: (call.expect ?? CALL_DEFAULTS.expect).join(', '),
  }
}

/** The longest a run can take when every request times out, as the server computes it. */
export function worstCaseSeconds(c: Pick<FunctionCallInput, 'requestTimeoutSeconds' | 'retries' | 'backoffSeconds'>): number {
  let waits = 0
  for (let i = 0; i < c.retries; i++) waits += c.backoffSeconds * 2 ** i
  return (c.retries + 1) * c.requestTimeoutSeconds + waits
}
