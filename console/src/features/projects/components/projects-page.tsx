import { ErrorBox } from '../../../components/ui'
import { href } from '../../../router'
import { useProjects } from '../api/hooks'

export function ProjectsPage() {
  const projects = useProjects()
  return (
    <article>
      <h1>Projects</h1>
      <ErrorBox error={projects.error} />
      {projects.data?.length === 0 && <p className="muted">No projects yet.</p>}
      <ul className="apps">
        {projects.data?.map((p) => (
          <li key={p.name}>
            <a href={href({ page: 'project', project: p.name })}>{p.name}</a>
          </li>
        ))}
      </ul>
    </article>
  )
}
