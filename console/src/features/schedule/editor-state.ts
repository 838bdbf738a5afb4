// The schedule editor's state: a preset view and a raw cron view over one
// expression. The cron text is the source of truth; the preset view edits it
// through toCron, and a raw expression shows as a preset when the server
// recognises it as one. Switching views never changes the expression, so the
// user's own spelling (e.g. "0 9 * * 1-5") survives a look at the presets.

import { type Preset, type PresetKind, defaultPreset, toCron } from './presets'

export type EditorState = {
  view: 'preset' | 'cron'
  cron: string
  /** The preset being edited; null when the expression is no preset. */
  preset: Preset | null
  /** A preset field the user made invalid, with its message. */
  presetError: string | null
}

export type EditorAction =
  | { type: 'showPresets'; recognised: Preset | null }
  | { type: 'showCron' }
  | { type: 'editCron'; cron: string }
  | { type: 'choosePreset'; kind: PresetKind }
  | { type: 'editPreset'; preset: Preset }
  | { type: 'recognised'; preset: Preset | null }

export function initialState(cron: string, recognised: Preset | null = null): EditorState {
  return { view: recognised || !cron ? 'preset' : 'cron', cron, preset: recognised, presetError: null }
}

export function reduce(state: EditorState, action: EditorAction): EditorState {
  switch (action.type) {
    case 'showCron':
      return { ...state, view: 'cron', presetError: null }
    case 'showPresets':
      return { ...state, view: 'preset', preset: action.recognised ?? state.preset }
    case 'editCron':
      // The server says later which preset (if any) the new text is.
      return { ...state, cron: action.cron, preset: null }
    case 'recognised':
      // Only adopt the server's reading while the user is not editing a preset.
      return state.view === 'cron' || state.preset === null
        ? { ...state, preset: action.preset }
        : state
    case 'choosePreset': {
      const preset = defaultPreset(action.kind, state.preset ?? undefined)
      return { ...state, view: 'preset', preset, cron: toCron(preset), presetError: null }
    }
    case 'editPreset':
      try {
        return { ...state, preset: action.preset, cron: toCron(action.preset), presetError: null }
      } catch (e) {
        return { ...state, preset: action.preset, presetError: (e as Error).message }
      }
  }
}
