import { useState } from 'react'
import type { Application, ApplicationType, FunctionSpec, StatelessSpec } from '../../../api/types'
import { Button, ErrorBox, Field } from '../../../components/ui'
import { href, navigate } from '../../../router'
import { AlertsSection } from '../../alerts/components/alert-settings'
import { CronJobList } from '../../cronjobs/components/cronjob-list'
import { ProjectFileSection } from '../../projectfile/components/project-file'
import { useApplications, useCreateApplication } from '../api/hooks'

const TYPES: { type: ApplicationType; label: string; blurb: string }[] = [
  { type: 'stateless', label: 'Stateless', blurb: 'A long-running service' },
  { type: 'cronjob', label: 'CronJob', blurb: 'A task on a schedule' },
  { type: 'function', label: 'Function', blurb: 'An HTTP endpoint' },
]

/** A project's applications, by type. */
export function ProjectPage({ project }: { project: string }) {
  const apps = useApplications(project)
  const byType = (t: ApplicationType) => apps.data?.filter((a) => a.type === t) ?? []
  return (
    <article>
      <nav aria-label="Breadcrumb">
        <a href={href({ page: 'projects' })}>Projects</a> / {project}
      </nav>
      <header className="page-header">
        <h1>{project}</h1>
        <a href={href({ page: 'audit', project })}>Audit log</a>
        <NewApplicationMenu project={project} />
      </header>
      <ErrorBox error={apps.error} />
      <section aria-label="CronJobs">
        <h2>CronJobs</h2>
        <CronJobList project={project} />
      </section>
      <section aria-label="Stateless applications">
        <h2>Stateless</h2>
        <AppTable apps={byType('stateless')} render={(a) => (a.spec as StatelessSpec).image} />
      </section>
      <section aria-label="Functions">
        <h2>Functions</h2>
        <AppTable apps={byType('function')} render={(a) => (a.spec as FunctionSpec).endpoint} />
      </section>
      <AlertsSection project={project} />
      <ProjectFileSection project={project} />
    </article>
  )
}

function AppTable({ apps, render }: { apps: Application[]; render: (a: Application) => string }) {
  if (!apps.length) return <p className="muted">None yet.</p>
  return (
    <ul className="apps">
      {apps.map((a) => (
        <li key={a.name}>
          <strong>{a.name}</strong> <code>{render(a)}</code>
        </li>
      ))}
    </ul>
  )
}

function NewApplicationMenu({ project }: { project: string }) {
  return (
    <div role="group" aria-label="New application" className="actions">
      {TYPES.map((t) => (
        <Button key={t.type} onClick={() => navigate({ page: 'new-app', project, type: t.type })} title={t.blurb}>
          New {t.label}
        </Button>
      ))}
      <Button onClick={() => navigate({ page: 'new-app', project, type: 'cronjob-function' })} title="Call a Function of this project on a schedule">
        New CronJob from a Function
      </Button>
    </div>
  )
}

/** Create a Stateless application or a Function. */
export function SimpleAppForm({ project, type }: { project: string; type: 'stateless' | 'function' }) {
  const create = useCreateApplication(project)
  const [name, setName] = useState('')
  const [image, setImage] = useState('hks.local/demo-web:1')
  const [port, setPort] = useState(8080)
  const [endpoint, setEndpoint] = useState('')
  const [method, setMethod] = useState('POST')
  const spec = type === 'stateless' ? { image, port } : { endpoint, method }
  return (
    <form
      aria-label={`New ${type === 'stateless' ? 'Stateless application' : 'Function'}`}
      onSubmit={(e) => {
        e.preventDefault()
        create.mutate({ name, type, spec }, { onSuccess: () => navigate({ page: 'project', project }) })
      }}
    >
      <h1>New {type === 'stateless' ? 'Stateless application' : 'Function'}</h1>
      <Field label="Name">{(p) => <input {...p} value={name} onChange={(e) => setName(e.target.value)} />}</Field>
      {type === 'stateless' ? (
        <>
          <Field label="Image">{(p) => <input {...p} value={image} onChange={(e) => setImage(e.target.value)} />}</Field>
          <Field label="Port">{(p) => <input {...p} type="number" value={port} onChange={(e) => setPort(e.target.valueAsNumber)} />}</Field>
        </>
      ) : (
        <>
          <Field label="Endpoint" hint="The function's URL, e.g. http://hello.my-project.svc.cluster.local:8080/">
            {(p) => <input {...p} value={endpoint} onChange={(e) => setEndpoint(e.target.value)} />}
          </Field>
          <Field label="Method">
            {(p) => (
              <select {...p} value={method} onChange={(e) => setMethod(e.target.value)}>
                {['GET', 'POST', 'PUT', 'PATCH', 'DELETE'].map((m) => (
                  <option key={m}>{m}</option>
                ))}
              </select>
            )}
          </Field>
        </>
      )}
      <ErrorBox error={create.error} />
      <Button type="submit" variant="primary" disabled={create.isPending}>
        Create
      </Button>
    </form>
  )
}
