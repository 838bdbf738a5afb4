import { useState } from 'react'
import { ApiError, api, setToken } from '../../../api/client'
import { Button, ErrorBox, Field } from '../../../components/ui'

/** Sign in with an API token; the token stays in this tab's session storage. */
export function SignIn({ onSignedIn }: { onSignedIn: () => void }) {
  const [token, setValue] = useState('')
  const [error, setError] = useState<unknown>(null)
  const [busy, setBusy] = useState(false)
  return (
    <main className="sign-in">
      <h1>HKS console</h1>
      <form
        onSubmit={async (e) => {
          e.preventDefault()
          setBusy(true)
          setToken(token.trim())
          try {
            await api('/projects')
            onSignedIn()
          } catch (err) {
            setToken(null)
            setError(err instanceof ApiError && err.status === 401 ? new Error('That token is not valid.') : err)
          } finally {
            setBusy(false)
          }
        }}
      >
        <Field label="API token" hint="The token printed by ./dev/run, or one from `hks admin token create`.">
          {(p) => <input {...p} type="password" value={token} autoComplete="off" onChange={(e) => setValue(e.target.value)} />}
        </Field>
        <ErrorBox error={error} />
        <Button type="submit" variant="primary" disabled={!token.trim() || busy}>
          Sign in
        </Button>
      </form>
    </main>
  )
}
