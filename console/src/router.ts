// A tiny hash router: the console is a handful of pages, and hash URLs need no
// server support beyond serving index.html.

import { useSyncExternalStore } from 'react'

export type Route =
  | { page: 'projects' }
  | { page: 'project'; project: string }
  | { page: 'new-app'; project: string; type: string }
  | { page: 'cronjob'; project: string; name: string }
  | { page: 'edit-cronjob'; project: string; name: string }
  | { page: 'audit'; project: string }

export function parse(hash: string): Route {
  const parts = hash.replace(/^#\/?/, '').split('/').filter(Boolean).map(decodeURIComponent)
  if (parts[0] === 'projects' && parts[1]) {
    const project = parts[1]
    if (parts[2] === 'new' && parts[3]) return { page: 'new-app', project, type: parts[3] }
    if (parts[2] === 'audit') return { page: 'audit', project }
    if (parts[2] === 'cronjobs' && parts[3]) {
      return parts[4] === 'edit'
        ? { page: 'edit-cronjob', project, name: parts[3] }
        : { page: 'cronjob', project, name: parts[3] }
    }
    return { page: 'project', project }
  }
  return { page: 'projects' }
}

export function href(route: Route): string {
  const e = encodeURIComponent
  switch (route.page) {
    case 'projects':
      return '#/'
    case 'project':
      return `#/projects/${e(route.project)}`
    case 'new-app':
      return `#/projects/${e(route.project)}/new/${e(route.type)}`
    case 'cronjob':
      return `#/projects/${e(route.project)}/cronjobs/${e(route.name)}`
    case 'edit-cronjob':
      return `#/projects/${e(route.project)}/cronjobs/${e(route.name)}/edit`
    case 'audit':
      return `#/projects/${e(route.project)}/audit`
  }
}

export function navigate(route: Route) {
  window.location.hash = href(route)
}

function subscribe(cb: () => void) {
  window.addEventListener('hashchange', cb)
  return () => window.removeEventListener('hashchange', cb)
}

export function useRoute(): Route {
  const hash = useSyncExternalStore(subscribe, () => window.location.hash)
  return parse(hash)
}
