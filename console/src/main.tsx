import { StrictMode } from 'react'
import { createRoot } from 'react-dom/client'
import { App } from './app'
import './styles.css'

// Alert deliveries link to a page by path (/projects/p/cronjobs/c); the
// console routes by hash, so the path becomes the same page's hash.
if (!window.location.hash && window.location.pathname.startsWith('/projects/')) {
  window.history.replaceState(null, '', `/#${window.location.pathname}`)
}

const root = document.getElementById('root')
if (root) {
  createRoot(root).render(
    <StrictMode>
      <App />
    </StrictMode>,
  )
}
