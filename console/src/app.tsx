import { QueryClient, QueryClientProvider } from '@tanstack/react-query'
import { useState } from 'react'
import { ApiError, getToken, setToken } from './api/client'
import { Button, ErrorBox } from './components/ui'
import { AuditPage } from './features/audit/components/audit-page'
import { SignIn } from './features/auth/components/sign-in'
import { CronJobForm } from './features/cronjobs/components/cronjob-form'
import { CronJobPage } from './features/cronjobs/components/cronjob-page'
import { useCronJob } from './features/cronjobs/api/hooks'
import { ProjectPage, SimpleAppForm } from './features/projects/components/project-page'
import { ProjectsPage } from './features/projects/components/projects-page'
import { href, useRoute } from './router'

const queryClient = new QueryClient({
  defaultOptions: {
    queries: {
      retry: (count, error) => !(error instanceof ApiError && error.status < 500) && count < 2,
    },
  },
})

export function App() {
  const [signedIn, setSignedIn] = useState(() => !!getToken())
  return (
    <QueryClientProvider client={queryClient}>
      {signedIn ? (
        <Shell
          onSignOut={() => {
            setToken(null)
            queryClient.clear()
            setSignedIn(false)
          }}
        />
      ) : (
        <SignIn onSignedIn={() => setSignedIn(true)} />
      )}
    </QueryClientProvider>
  )
}

function Shell({ onSignOut }: { onSignOut: () => void }) {
  const route = useRoute()
  return (
    <>
      <header className="top">
        <a className="brand" href={href({ page: 'projects' })}>
          HKS
        </a>
        <Button onClick={onSignOut}>Sign out</Button>
      </header>
      <main>
        {route.page === 'projects' && <ProjectsPage />}
        {route.page === 'project' && <ProjectPage project={route.project} />}
        {route.page === 'new-app' &&
          (route.type === 'cronjob' || route.type === 'cronjob-function' ? (
            <CronJobForm project={route.project} fromFunction={route.type === 'cronjob-function'} />
          ) : (
            <SimpleAppForm project={route.project} type={route.type === 'function' ? 'function' : 'stateless'} />
          ))}
        {route.page === 'cronjob' && <CronJobPage project={route.project} name={route.name} />}
        {route.page === 'edit-cronjob' && <EditCronJob project={route.project} name={route.name} />}
        {route.page === 'audit' && <AuditPage project={route.project} />}
      </main>
    </>
  )
}

function EditCronJob({ project, name }: { project: string; name: string }) {
  const cronjob = useCronJob(project, name)
  if (cronjob.error) return <ErrorBox error={cronjob.error} />
  if (!cronjob.data) return <p className="muted">Loading…</p>
  return <CronJobForm project={project} existing={cronjob.data} />
}
