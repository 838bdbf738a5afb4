// End-to-end: a project as a file (issue 18) in Debian's Chromium against a
// real `hks serve` on the local cluster. A project of its own is made
// through the API (a Stateless template and a suspended CronJob made from
// it); the page exports it, imports an edited copy with a preview of the
// diff (nothing changes until Apply), applies it, previews it again
// (nothing to change), and shows every problem of an invalid file with its
// line and column. Drives the page by role and accessible name only.
//
// Env: HKS_URL (default http://127.0.0.1:8080), HKS_TOKEN (required).
// Screenshots go to test-results/. Prints "N passed, N failed".

import { mkdirSync } from 'node:fs'
import { chromium } from 'playwright-core'

const base = process.env.HKS_URL ?? 'http://127.0.0.1:8080'
const token = process.env.HKS_TOKEN
if (!token) throw new Error('HKS_TOKEN is required')
const shots = new URL('../test-results/', import.meta.url).pathname
mkdirSync(shots, { recursive: true })

/** The HKS API as the tenant; throws on a status that is not 2xx. */
const api = async (method, path, body) => {
  const res = await fetch(`${base}/api/v1${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  })
  const text = await res.text()
  if (!res.ok) throw new Error(`${method} ${path}: HTTP ${res.status} ${text}`)
  return text ? JSON.parse(text) : null
}

const assert = (ok, message) => {
  if (!ok) throw new Error(message)
}

const browser = await chromium.launch({
  executablePath: '/usr/bin/chromium',
  args: [
    '--no-sandbox',
    '--disable-gpu',
    '--disable-quic',
    '--no-first-run',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
  ],
})
let passed = 0
let failed = 0
const step = async (name, fn) => {
  const t0 = Date.now()
  const took = () => `(${((Date.now() - t0) / 1000).toFixed(1)} s)`
  try {
    await fn()
    passed++
    console.log(`ok - ${name} ${took()}`)
  } catch (e) {
    failed++
    console.log(`not ok - ${name} ${took()}\n  ${String(e).split('\n').join('\n  ')}`)
    throw e
  }
}

const project = `file-${Date.now().toString(36)}`
const context = await browser.newContext({ viewport: { width: 1280, height: 900 } })
const page = await context.newPage()
page.setDefaultTimeout(20_000)
let exported = ''
try {
  await step('prepare, through the API, a project with a template and a suspended CronJob made from it', async () => {
    await api('POST', '/projects', { name: project })
    await api('POST', `/projects/${project}/applications`, {
      name: 'web',
      type: 'stateless',
      spec: { image: 'hks.local/demo-web:1', port: 8080, replicas: 0 },
    })
    await api('POST', `/projects/${project}/cronjobs`, {
      name: 'report',
      spec: { schedule: '0 3 * * *', template: { application: 'web', mode: 'follow' }, command: { argv: ['echo report'], shell: true }, suspend: true },
    })
  })

  await step('sign in and open the project', async () => {
    await page.goto(base)
    await page.getByLabel('API token').fill(token)
    await page.getByRole('button', { name: 'Sign in' }).click()
    await page.getByRole('heading', { name: 'Projects' }).waitFor()
    await page.getByRole('link', { name: project, exact: true }).click()
    await page.getByRole('heading', { name: project, exact: true }).waitFor()
  })

  await step('export the project as a file', async () => {
    const section = page.getByRole('region', { name: 'Project file' })
    await section.getByRole('button', { name: 'Export' }).click()
    const text = section.getByRole('textbox', { name: 'Exported project file' })
    await text.waitFor()
    exported = await text.inputValue()
    assert(exported.includes('\ncronjobs:\n  report:\n'), `the export has no CronJob report:\n${exported}`)
    assert(exported.includes('schedule: 0 3 * * *'), `the export has not report's schedule:\n${exported}`)
    await section.getByRole('link', { name: `Download ${project}.hks.yaml` }).waitFor()
    await page.screenshot({ path: `${shots}project-file-export.png`, fullPage: true })
  })

  await step('import an edited file: the preview shows the diff field by field, and nothing changes', async () => {
    // `cronjobs` is the file's last section: a CronJob appended is one more.
    const edited = `${exported.replace('schedule: 0 3 * * *', 'schedule: 0 4 * * *')}  nightly:\n    schedule: '@daily'\n    image: busybox:1.36\n    suspend: true\n`
    const form = page.getByRole('form', { name: 'Import a project file' })
    await form.getByRole('textbox', { name: 'Project file to import' }).fill(edited)
    await form.getByRole('button', { name: 'Preview changes' }).click()
    const preview = form.getByRole('region', { name: 'Preview of the changes' })
    await preview.getByText('1 to create, 1 to change, 0 to delete').waitFor()
    await preview.getByText('+ cronjobs.nightly').waitFor()
    await preview.getByText('~ cronjobs.report').waitFor()
    await preview.getByText('schedule: "0 3 * * *" → "0 4 * * *"').waitFor()
    const report = await api('GET', `/projects/${project}/cronjobs/report`)
    assert(report.spec.schedule === '0 3 * * *', `the preview changed the schedule: ${report.spec.schedule}`)
    await page.screenshot({ path: `${shots}project-file-preview.png`, fullPage: true })
  })

  await step('apply what was previewed; a second preview finds nothing to change', async () => {
    const form = page.getByRole('form', { name: 'Import a project file' })
    await form.getByRole('button', { name: 'Apply 2 changes' }).click()
    await form.getByText('Applied: 1 created, 1 changed, 0 deleted.').waitFor()
    const report = await api('GET', `/projects/${project}/cronjobs/report`)
    assert(report.spec.schedule === '0 4 * * *', `not applied: ${report.spec.schedule}`)
    await api('GET', `/projects/${project}/cronjobs/nightly`)
    await page.getByRole('table', { name: 'CronJobs' }).getByRole('link', { name: 'nightly', exact: true }).waitFor()
    await form.getByRole('button', { name: 'Preview changes' }).click()
    await form.getByText('nothing to change: the project matches the file').waitFor()
    assert(await form.getByRole('button', { name: 'Apply 0 changes' }).isDisabled(), 'Apply is enabled with nothing to change')
  })

  await step('an invalid file: every problem with its line and column, nothing changed', async () => {
    const form = page.getByRole('form', { name: 'Import a project file' })
    const bad = exported.replace('schedule: 0 3 * * *', "schedule: '0 25 * * *'").replace('image: hks.local/demo-web:1', 'image: Not An Image')
    await form.getByRole('textbox', { name: 'Project file to import' }).fill(bad)
    await form.getByRole('button', { name: 'Preview changes' }).click()
    const problems = form.getByRole('list', { name: 'Problems in the file' })
    await problems.waitFor()
    const text = await problems.textContent()
    assert(/cronjobs\.report\.schedule \(line \d+, column 5\)/.test(text), `no located schedule problem: ${text}`)
    assert(/stateless\.web\.image \(line \d+, column 5\)/.test(text), `no located image problem: ${text}`)
    await form.getByText('Nothing was changed.').waitFor()
    await page.screenshot({ path: `${shots}project-file-problems.png`, fullPage: true })
  })
} catch {
  await page.screenshot({ path: `${shots}project-file-failure.png`, fullPage: true }).catch(() => {})
} finally {
  // The project's namespace goes with it.
  await api('DELETE', `/projects/${project}`).catch(() => {})
  await browser.close()
  console.log(`${passed} passed, ${failed} failed`)
  process.exitCode = failed ? 1 : 0
}
