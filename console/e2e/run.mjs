// End-to-end journey in Debian's Chromium against a real `hks serve` on the
// local cluster: create a CronJob from a template with a command override and
// a weekly preset, see it in the list, Run now, see the run succeed and read
// its log line; then the README's day-2 promises: a run Kubernetes deleted is
// "kept by HKS" with its log, suspend/resume/edit, alert settings (the
// project's default and a CronJob's own, each with a signed test delivery to
// a local receiver), a Missed row with Kubernetes' reason and the alert it
// raised, and a running run's log growing in the page; run control: Run
// now with an override, cancel with confirmation, re-run; the run timeline
// against the API's runs; the audit log. Drives the page by
// role and accessible name only.
//
// Two CronJobs are prepared through the API first, so that their minute
// boundaries pass while the first steps run: `<name>-kept` (every minute,
// history limits 0: Kubernetes deletes each finished Job; with env, labels,
// resources and history retention, which the console's edit must keep) and `<name>-missed`
// (every minute, Forbid, a 30 s starting deadline and a run that ticks for
// 15 minutes, so every later time is skipped with JobAlreadyActive).
//
// Env: HKS_URL (default http://127.0.0.1:8080), HKS_TOKEN (required),
// HKS_PROJECT (default demo), HKS_TEMPLATE (default web), HKS_KUBECTL (the
// command that runs the cluster's kubectl, default dev/cluster/hksc kubectl).
// Screenshots go to test-results/ (not committed). Prints "N passed, N failed".

import { execFile } from 'node:child_process'
import { createHmac } from 'node:crypto'
import { mkdirSync } from 'node:fs'
import { createServer } from 'node:http'
import { isDeepStrictEqual, promisify } from 'node:util'
import { chromium } from 'playwright-core'

const base = process.env.HKS_URL ?? 'http://127.0.0.1:8080'
const token = process.env.HKS_TOKEN
const project = process.env.HKS_PROJECT ?? 'demo'
const template = process.env.HKS_TEMPLATE ?? 'web'
// A Function of the project to call on a schedule (the demo's `greet`); empty skips that step.
const fn = process.env.HKS_FUNCTION ?? ''
if (!token) throw new Error('HKS_TOKEN is required')
const shots = new URL('../test-results/', import.meta.url).pathname
mkdirSync(shots, { recursive: true })
const kubectl = process.env.HKS_KUBECTL?.split(' ') ?? [new URL('../../dev/cluster/hksc', import.meta.url).pathname, 'kubectl']

/** The HKS API as the demo tenant; throws on a status that is not 2xx. */
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

/** The cluster's kubectl; resolves with stdout, rejects with its stderr. */
const kube = async (...args) => (await promisify(execFile)(kubectl[0], [...kubectl.slice(1), ...args])).stdout

/** Polls `check` until it returns something truthy; fails after `ms` naming `what`. */
const waitFor = async (what, check, ms) => {
  const deadline = Date.now() + ms
  for (;;) {
    const value = await check()
    if (value) return value
    if (Date.now() > deadline) throw new Error(`gave up after ${ms / 1000} s waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 500))
  }
}

const assert = (ok, message) => {
  if (!ok) throw new Error(message)
}

// The webhook receiver: records every request and answers 200.
const secret = 'e2e-webhook-secret-0123456789'
const received = []
const receiver = createServer((req, res) => {
  let body = ''
  req.setEncoding('utf8')
  req.on('data', (c) => (body += c))
  req.on('end', () => {
    received.push({ method: req.method, path: req.url, headers: req.headers, body })
    res.writeHead(200).end('ok')
  })
})
await new Promise((resolve) => receiver.listen(0, '127.0.0.1', resolve))
const hook = `http://127.0.0.1:${receiver.address().port}`

/** A delivery at `path` with a valid X-HKS-Signature whose JSON body matches `want`. */
const delivery = (path, want) =>
  received.find((r) => {
    if (r.method !== 'POST' || r.path !== path) return false
    const sig = /^t=(\d+),v1=([0-9a-f]+)$/.exec(r.headers['x-hks-signature'] ?? '')
    if (!sig || !r.headers['x-hks-delivery']) return false
    if (createHmac('sha256', secret).update(`${sig[1]}.${r.body}`).digest('hex') !== sig[2]) return false
    const alert = JSON.parse(r.body)
    return Object.entries(want).every(([k, v]) => alert[k] === v)
  })

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
const started = Date.now()
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

const name = `e2e-${Date.now().toString(36)}`
const kept = `${name}-kept`
const missed = `${name}-missed`
const fromTemplate = { application: template, mode: 'follow' }
/** Settings of `<name>-kept` that the console's form has no control for: its edit must keep them. */
const keptExtras = {
  env: [{ name: 'E2E_GREETING', value: 'hello' }],
  labels: { 'e2e.hks.dev/journey': 'kept' },
  resources: { requests: { cpu: '10m', memory: '16Mi' }, limits: { cpu: '200m', memory: '48Mi' } },
  historyRetention: { maxRuns: 40, maxAgeDays: 3 },
}
/** The row of CronJob `n` in the project's list. */
const listRow = (n) =>
  page.getByRole('table', { name: 'CronJobs' }).getByRole('row').filter({ has: page.getByRole('link', { name: n, exact: true }) })
/** Opens CronJob `n` from the project page. */
const openCronJob = async (n) => {
  const crumb = page.getByRole('navigation', { name: 'Breadcrumb' }).getByRole('link', { name: project, exact: true })
  if (await crumb.count()) await crumb.click()
  await page.getByRole('heading', { name: project, exact: true }).waitFor()
  await listRow(n).getByRole('link', { name: n, exact: true }).click()
  await page.getByRole('heading', { name: n, exact: true }).waitFor()
}
const namespace = async () => (await api('GET', `/projects/${project}`)).namespace
const context = await browser.newContext({ viewport: { width: 1280, height: 800 } })
const page = await context.newPage()
page.setDefaultTimeout(20_000)
try {
  await step('prepare, through the API, a CronJob whose Jobs Kubernetes deletes and one that misses runs', async () => {
    await api('POST', `/projects/${project}/cronjobs`, {
      name: kept,
      spec: {
        schedule: '* * * * *',
        timeZone: 'UTC',
        template: fromTemplate,
        command: { argv: ['echo "archived line of $HOSTNAME"'], shell: true },
        ...keptExtras,
        successfulJobsHistoryLimit: 0,
        failedJobsHistoryLimit: 0,
      },
    })
    await api('POST', `/projects/${project}/cronjobs`, {
      name: missed,
      spec: {
        schedule: '* * * * *',
        timeZone: 'UTC',
        template: fromTemplate,
        command: { argv: ['i=0; while [ $i -lt 900 ]; do i=$((i+1)); echo "tick $i"; sleep 1; done'], shell: true },
        concurrencyPolicy: 'Forbid',
        startingDeadlineSeconds: 30,
        timeoutSeconds: 1200,
        retries: 0,
      },
    })
  })

  await step('sign in with a token', async () => {
    await page.goto(base)
    await page.getByLabel('API token').fill(token)
    await page.getByRole('button', { name: 'Sign in' }).click()
    await page.getByRole('heading', { name: 'Projects' }).waitFor()
    await page.screenshot({ path: `${shots}projects.png` })
  })

  await step('open the project', async () => {
    await page.getByRole('link', { name: project, exact: true }).click()
    await page.getByRole('heading', { name: project, exact: true }).waitFor()
    await page.screenshot({ path: `${shots}project.png`, fullPage: true })
  })

  await step("set the project's default alerts and send a signed test to the webhook", async () => {
    const form = page.getByRole('form', { name: 'Default alert settings' })
    await form.getByLabel('A scheduled run does not start').check()
    await form.getByRole('radio', { name: 'Webhook (signed JSON)' }).check()
    await form.getByLabel('Webhook URL').fill(`${hook}/default`)
    await form.getByLabel('Webhook secret').fill(secret)
    await form.getByRole('button', { name: 'Save alerts' }).click()
    await form.getByRole('status').filter({ hasText: 'Saved.' }).waitFor()
    await form.getByText('Every CronJob without its own settings uses these.').waitFor()
    await form.getByText('Secret set').waitFor()
    assert(await form.getByLabel('A scheduled run does not start').isChecked(), 'the saved default lost "A scheduled run does not start"')
    await form.getByRole('button', { name: 'Send test' }).click()
    await form.getByRole('status').filter({ hasText: 'Test delivered (HTTP 200).' }).waitFor()
    assert(delivery('/default', { kind: 'test', project }), `no signed test delivery at /default; received ${JSON.stringify(received)}`)
    await page.screenshot({ path: `${shots}project-alerts.png`, fullPage: true })
  })

  await step('start a new CronJob', async () => {
    await page.getByRole('button', { name: 'New CronJob', exact: true }).click()
    await page.getByRole('heading', { name: 'New CronJob', exact: true }).waitFor()
  })

  await step('fill the form: template, command override, weekly preset', async () => {
    await page.getByLabel('Name', { exact: true }).fill(name)
    await page.getByLabel('Template application').selectOption(template)
    await page.getByText(`(from ${template})`).first().waitFor()
    await page.getByLabel('Override the command for this job').check()
    await page.getByLabel('Command', { exact: true }).fill('echo')
    await page.getByRole('button', { name: 'Add argument' }).click()
    await page.getByRole('textbox', { name: 'Argument 1' }).fill(`hello from ${name}`)
    await page.getByRole('tab', { name: 'Weekly' }).click()
    await page.getByLabel('Wednesday').check()
    await page.getByLabel('Time of day').fill('07:30')
    await page.getByLabel('Time zone').fill('Europe/Berlin')
    await page.getByText('At 07:30, on Monday and Wednesday (Europe/Berlin)').waitFor()
    await page.getByRole('table', { name: 'Next runs' }).waitFor()
    await page.screenshot({ path: `${shots}cronjob-form.png`, fullPage: true })
    await page.getByRole('button', { name: 'Create CronJob' }).click()
    await page.getByRole('heading', { name, exact: true }).waitFor()
  })

  await step('see it in the list', async () => {
    await page.getByRole('link', { name: project, exact: true }).click()
    const row = listRow(name)
    await row.getByText('At 07:30, on Monday and Wednesday (Europe/Berlin)').waitFor()
    await page.screenshot({ path: `${shots}cronjob-list.png`, fullPage: true })
    await row.getByRole('link', { name, exact: true }).click()
  })

  await step('Run now, see the run succeed and read its log', async () => {
    await page.getByRole('button', { name: 'Run now' }).click()
    const runs = page.getByRole('table', { name: 'Runs' })
    await runs.getByText('Succeeded').waitFor({ timeout: 90_000 })
    await runs.getByText(/Manual/).waitFor()
    await page.getByRole('button', { name: /Show logs of/ }).first().click()
    await page.getByRole('log').getByText(`hello from ${name}`).waitFor({ timeout: 30_000 })
    await page.screenshot({ path: `${shots}cronjob-page.png`, fullPage: true })
  })

  /** The runs of CronJob `n` through the API, newest first. */
  const runsOf = (n) => api('GET', `/projects/${project}/cronjobs/${n}/runs`)
  let overridden = ''
  await step('Run with changes: the override reaches the container and the effective command is shown', async () => {
    await page.getByRole('button', { name: 'Run with changes…' }).click()
    const dialog = page.getByRole('dialog', { name: `Run ${name} now` })
    await dialog.getByRole('textbox', { name: 'Command for this run' }).fill('echo "override:$E2E_MODE"')
    await dialog.getByRole('textbox', { name: 'Environment for this run' }).fill('E2E_MODE=once')
    await dialog.getByLabel('Effective command').getByText(`sh -c 'echo "override:$E2E_MODE"'`).waitFor()
    await page.screenshot({ path: `${shots}cronjob-run-overrides.png`, fullPage: true })
    await dialog.getByRole('button', { name: 'Start run' }).click()
    await dialog.waitFor({ state: 'hidden' })
    overridden = await waitFor('the run with overrides', async () => (await runsOf(name)).find((r) => r.overrides?.env?.[0]?.value === 'once')?.name, 30_000)
    await page.getByRole('region', { name: `Logs of ${overridden}` }).getByRole('log').getByText('override:once').waitFor({ timeout: 90_000 })
  })

  await step('cancel a long run with confirmation: it ends as Cancelled', async () => {
    await page.getByRole('button', { name: 'Run with changes…' }).click()
    const dialog = page.getByRole('dialog', { name: `Run ${name} now` })
    await dialog.getByRole('textbox', { name: 'Command for this run' }).fill('echo started; sleep 300')
    await dialog.getByRole('button', { name: 'Start run' }).click()
    const long = await waitFor('the long run', async () => (await runsOf(name)).find((r) => r.overrides?.command?.argv?.[0]?.includes('sleep 300'))?.name, 30_000)
    const runs = page.getByRole('table', { name: 'Runs' })
    const row = runs.getByRole('row').filter({ has: page.getByText(long, { exact: true }) })
    await row.getByText('Running', { exact: true }).waitFor({ timeout: 90_000 })
    await row.getByRole('button', { name: `Cancel run ${long}` }).click()
    await page.getByRole('dialog', { name: `Cancel run ${long}?` }).getByRole('button', { name: 'Cancel run' }).click()
    await row.getByText('Cancelled', { exact: true }).first().waitFor({ timeout: 30_000 })
    await page.screenshot({ path: `${shots}cronjob-cancelled.png`, fullPage: true })
  })

  await step('re-run the run with overrides: a new run, marked as its re-run, with the same container', async () => {
    const runs = page.getByRole('table', { name: 'Runs' })
    await runs.getByRole('button', { name: `Re-run ${overridden}` }).click()
    const row = runs.getByRole('row').filter({ hasText: `Re-run of ${overridden}` }).first()
    await row.waitFor({ timeout: 30_000 })
    const rerun = (await row.getByRole('cell').first().textContent()).trim()
    await page.getByRole('region', { name: `Logs of ${rerun}` }).getByRole('log').getByText('override:once').waitFor({ timeout: 90_000 })
    await row.getByText('Succeeded', { exact: true }).waitFor({ timeout: 60_000 })
    await page.screenshot({ path: `${shots}cronjob-rerun.png`, fullPage: true })
  })

  await step('the run timeline shows the runs the API lists, and clicking one opens it', async () => {
    const listed = (await runsOf(name)).slice(0, 100)
    const timeline = page.getByRole('group', { name: /^Run timeline/ })
    await waitFor(`the timeline's ${listed.length} runs`, async () => (await timeline.getByRole('button').count()) === listed.length, 20_000)
    for (const r of listed) await timeline.getByRole('button', { name: `Open run ${r.name}:`, exact: false }).waitFor()
    const oldest = listed.at(-1)
    await timeline.getByRole('button', { name: `Open run ${oldest.name}:`, exact: false }).click()
    await page.getByRole('region', { name: `Logs of ${oldest.name}` }).getByRole('log').getByText(`hello from ${name}`).waitFor({ timeout: 30_000 })
    await page.getByText(/^Duration: median .*, 95th percentile .* over the last \d+ runs\.$/).waitFor()
    await page.screenshot({ path: `${shots}cronjob-timeline.png`, fullPage: true })
  })

  await step('works at phone width', async () => {
    await page.setViewportSize({ width: 390, height: 844 })
    await page.getByRole('button', { name: 'Run now' }).waitFor()
    // The timeline fits: no bar is pushed out of the page.
    const box = await page.getByRole('group', { name: /^Run timeline/ }).boundingBox()
    assert(box && box.x >= 0 && box.x + box.width <= 390, `the timeline does not fit at phone width: ${JSON.stringify(box)}`)
    await page.screenshot({ path: `${shots}cronjob-page-phone.png`, fullPage: true })
  })

  await step('delete with confirmation', async () => {
    await page.setViewportSize({ width: 1280, height: 800 })
    await page.getByRole('button', { name: 'Delete' }).click()
    await page.getByRole('dialog', { name: `Delete ${name}?` }).getByRole('button', { name: 'Delete CronJob' }).click()
    await page.getByRole('heading', { name: project, exact: true }).waitFor()
  })

  if (fn) {
    const called = `${name}-fn`
    await step('a CronJob from a Function: Run now succeeds and logs the status', async () => {
      await page.getByRole('button', { name: 'New CronJob from a Function' }).click()
      await page.getByRole('heading', { name: 'New CronJob from a Function' }).waitFor()
      await page.getByLabel('Name', { exact: true }).fill(called)
      await page.getByRole('combobox', { name: 'Function', exact: true }).selectOption(fn)
      await page.getByRole('button', { name: 'Add header' }).click()
      await page.getByRole('textbox', { name: 'Header 1 name' }).fill('X-Source')
      await page.getByRole('textbox', { name: 'Header 1 value' }).fill('console-e2e')
      await page.getByRole('textbox', { name: 'Expected status' }).fill('200')
      await page.screenshot({ path: `${shots}cronjob-function-form.png`, fullPage: true })
      await page.getByRole('button', { name: 'Create CronJob' }).click()
      await page.getByRole('heading', { name: called, exact: true }).waitFor()
      await page.getByText(`calls the Function ${fn}`).waitFor()
      await page.getByRole('button', { name: 'Run now' }).click()
      const runs = page.getByRole('table', { name: 'Runs' })
      await runs.getByText('Succeeded').waitFor({ timeout: 90_000 })
      await page.getByRole('button', { name: /Show logs of/ }).first().click()
      await page.getByRole('log').getByText('status 200 meets 200').waitFor({ timeout: 30_000 })
      await page.screenshot({ path: `${shots}cronjob-function-page.png`, fullPage: true })
      await page.getByRole('button', { name: 'Delete' }).click()
      await page.getByRole('dialog', { name: `Delete ${called}?` }).getByRole('button', { name: 'Delete CronJob' }).click()
      await page.getByRole('heading', { name: project, exact: true }).waitFor()
    })
  }
  await step('a run Kubernetes deleted (history limit 0) is listed as "kept by HKS" and its log is still readable', async () => {
    await openCronJob(kept)
    const runs = page.getByRole('table', { name: 'Runs' })
    // The first every-minute run: up to a minute to its time, pod start, the
    // CronJob controller deleting the finished Job, HKS releasing it.
    const row = runs.getByRole('row').filter({ hasText: 'Succeeded' }).filter({ has: page.getByText('kept by HKS', { exact: true }) }).first()
    await row.waitFor({ timeout: 240_000 })
    const run = (await row.getByRole('cell').first().textContent()).trim()
    const ns = await namespace()
    await kube('get', 'job', '-n', ns, run).then(
      () => {
        throw new Error(`Job ${run} still exists in ${ns}, yet the page says "kept by HKS"`)
      },
      (e) => assert(/NotFound/.test(e.stderr), `kubectl get job ${run}: ${e.stderr}`),
    )
    await row.getByRole('button', { name: `Show logs of ${run}` }).click()
    const logs = page.getByRole('region', { name: `Logs of ${run}` })
    await logs.getByRole('log').getByText(`archived line of ${run}`).waitFor({ timeout: 30_000 })
    await logs.getByText("From HKS's run history: Kubernetes no longer has this attempt.").waitFor()
    await page.screenshot({ path: `${shots}cronjob-kept.png`, fullPage: true })
  })

  await step('suspend a CronJob with a note: its page, the list and the cluster show it; resume it', async () => {
    await page.getByRole('button', { name: 'Suspend', exact: true }).click()
    const dialog = page.getByRole('dialog', { name: `Suspend ${kept}?` })
    await dialog.getByRole('textbox', { name: 'Reason (optional)' }).fill('e2e maintenance window')
    await dialog.getByRole('button', { name: 'Suspend', exact: true }).click()
    await page.getByRole('button', { name: 'Resume', exact: true }).waitFor()
    await page.getByRole('status').getByText(/Suspended by demo\/.*: e2e maintenance window/).waitFor()
    const ns = await namespace()
    const suspended = async () => (await kube('get', 'cronjob', '-n', ns, kept, '-o', 'jsonpath={.spec.suspend}')).trim()
    assert((await suspended()) === 'true', `the cluster's CronJob has suspend=${await suspended()}`)
    await page.getByRole('navigation', { name: 'Breadcrumb' }).getByRole('link', { name: project, exact: true }).click()
    const row = listRow(kept)
    await row.getByText('Suspended', { exact: true }).waitFor()
    await row.getByText('suspended: e2e maintenance window', { exact: true }).waitFor()
    await page.screenshot({ path: `${shots}cronjob-list-suspended.png`, fullPage: true })
    await row.getByRole('link', { name: kept, exact: true }).click()
    await page.getByRole('button', { name: 'Resume', exact: true }).click()
    await page.getByRole('button', { name: 'Suspend', exact: true }).waitFor()
    assert((await suspended()) === 'false', `the resumed CronJob has suspend=${await suspended()} in the cluster`)
    await page.getByRole('navigation', { name: 'Breadcrumb' }).getByRole('link', { name: project, exact: true }).click()
    // Its state is Active or Running (it runs every minute), never Suspended again.
    await listRow(kept).getByText(/^(Active|Running)$/).waitFor()
    assert((await listRow(kept).getByText(/^suspended$/i).count()) === 0, 'the list still says suspended')
    await listRow(kept).getByRole('link', { name: kept, exact: true }).click()
  })

  await step('edit the schedule: the page shows the new schedule and its description', async () => {
    await page.getByRole('button', { name: 'Edit', exact: true }).click()
    await page.getByRole('heading', { name: `Edit ${kept}` }).waitFor()
    await page.getByRole('tab', { name: 'Cron expression' }).click()
    await page.getByLabel('Cron expression').fill('30 4 * * *')
    await page.getByText('At 04:30 (UTC)').first().waitFor()
    await page.getByRole('button', { name: 'Save changes' }).click()
    await page.getByRole('heading', { name: kept, exact: true }).waitFor()
    await page.getByText('At 04:30 (UTC)').waitFor()
    await page.getByText('30 4 * * *', { exact: true }).waitFor()
    const ns = await namespace()
    const schedule = (await kube('get', 'cronjob', '-n', ns, kept, '-o', 'jsonpath={.spec.schedule}')).trim()
    assert(schedule === '30 4 * * *', `the cluster's CronJob has schedule ${schedule}`)
    // The edit changed the schedule only: the settings the form does not show are kept.
    const spec = (await api('GET', `/projects/${project}/cronjobs/${kept}`)).spec
    assert(spec.successfulJobsHistoryLimit === 0 && spec.command?.shell === true, `the edit changed more: ${JSON.stringify(spec)}`)
    for (const [field, want] of Object.entries(keptExtras)) {
      assert(isDeepStrictEqual(spec[field], want), `the edit changed ${field}: ${JSON.stringify(spec[field])}, was ${JSON.stringify(want)}`)
    }
    await page.screenshot({ path: `${shots}cronjob-edited.png`, fullPage: true })
  })

  await step("give a CronJob its own alerts and send a signed test to its webhook", async () => {
    const form = page.getByRole('form', { name: `Alert settings of ${kept}` })
    await form.getByText("This CronJob uses the project's default alerts; saving here gives it its own.").waitFor()
    await form.getByLabel('A run fails').check()
    await form.getByLabel('Webhook URL').fill(`${hook}/own`)
    await form.getByLabel('Webhook secret').fill(secret)
    await form.getByRole('button', { name: 'Save alerts' }).click()
    await form.getByRole('status').filter({ hasText: 'Saved.' }).waitFor()
    await form.getByText('This CronJob has its own alert settings.').waitFor()
    assert(await form.getByLabel('A run fails').isChecked(), 'the saved settings lost "A run fails"')
    await form.getByRole('button', { name: 'Send test' }).click()
    await form.getByRole('status').filter({ hasText: 'Test delivered (HTTP 200).' }).waitFor()
    assert(delivery('/own', { kind: 'test', project, cronjob: kept }), `no signed test delivery at /own; received ${JSON.stringify(received)}`)
    await page.screenshot({ path: `${shots}cronjob-alerts.png`, fullPage: true })
  })

  await step("a running run's log grows in the page without a reload", async () => {
    await openCronJob(missed)
    const runs = page.getByRole('table', { name: 'Runs' })
    const running = runs.getByRole('row').filter({ hasText: 'Running' }).first()
    await running.waitFor({ timeout: 180_000 })
    const run = (await running.getByRole('cell').first().textContent()).trim()
    await page.evaluate(() => {
      window.e2eSamePage = true
    })
    await running.getByRole('button', { name: `Show logs of ${run}` }).click()
    const log = page.getByRole('region', { name: `Logs of ${run}` }).getByRole('log')
    const lastTick = async () => Math.max(0, ...[...((await log.textContent()) ?? '').matchAll(/tick (\d+)/g)].map((m) => Number(m[1])))
    const first = await waitFor('a tick in the followed log', lastTick, 60_000)
    await waitFor(`tick ${first + 5} after tick ${first}`, async () => (await lastTick()) >= first + 5, 60_000)
    assert(await page.evaluate(() => window.e2eSamePage === true), 'the page was reloaded')
    await page.screenshot({ path: `${shots}cronjob-follow.png`, fullPage: true })
  })

  await step("a scheduled time skipped while a run is active is a Missed row with Kubernetes' reason", async () => {
    const runs = page.getByRole('table', { name: 'Runs' })
    const row = runs.getByRole('row').filter({ hasText: 'Missed' }).filter({ hasText: 'JobAlreadyActive' }).first()
    // The next minute after the run started, its 30 s deadline, the recorder's 30 s check.
    await row.waitFor({ timeout: 180_000 })
    await page.screenshot({ path: `${shots}cronjob-missed.png`, fullPage: true })
  })

  await step("the missed run raised the project default's alert: delivered, signed, in the alert history", async () => {
    const form = page.getByRole('form', { name: `Alert settings of ${missed}` })
    await form.getByText("This CronJob uses the project's default alerts; saving here gives it its own.").waitFor()
    const history = page.getByRole('table', { name: 'Alerts raised' })
    const row = history.getByRole('row').filter({ hasText: /did not start/ }).filter({ hasText: /Delivered/ }).first()
    // The history is polled every 5 s; the worker delivers within seconds.
    await row.waitFor({ timeout: 60_000 })
    await waitFor('the missed alert at the receiver', () => delivery('/default', { kind: 'missed', project, cronjob: missed }), 30_000)
    await page.screenshot({ path: `${shots}cronjob-missed-alert.png`, fullPage: true })
  })

  await step('the audit log shows the suspend with its note, the run cancelled and who did each', async () => {
    await page.getByRole('navigation', { name: 'Breadcrumb' }).getByRole('link', { name: project, exact: true }).click()
    await page.getByRole('link', { name: 'Audit log' }).click()
    await page.getByRole('heading', { name: 'Audit log' }).waitFor()
    const log = page.getByRole('table', { name: 'Audit log' })
    const suspended = log.getByRole('row').filter({ hasText: 'cronjob.suspend' }).filter({ hasText: `cronjob/${kept}` })
    await suspended.getByText('reason: "e2e maintenance window"').waitFor()
    await suspended.getByText(/^demo\//).waitFor()
    await page.getByRole('combobox', { name: 'Action' }).selectOption('run.cancel')
    await log.getByRole('row').filter({ hasText: `cronjob/${name}` }).first().waitFor()
    await page.screenshot({ path: `${shots}audit.png`, fullPage: true })
  })
} catch {
  await page.screenshot({ path: `${shots}failure.png`, fullPage: true }).catch(() => {})
} finally {
  // Nothing every-minute is left behind when the journey runs against a long-lived server.
  for (const n of [kept, missed]) await api('DELETE', `/projects/${project}/cronjobs/${n}`).catch(() => {})
  await api('DELETE', `/projects/${project}/alerts`).catch(() => {})
  receiver.close()
  await browser.close()
  console.log(`journey took ${Math.round((Date.now() - started) / 1000)} s`)
  console.log(`${passed} passed, ${failed} failed`)
  process.exitCode = failed ? 1 : 0
}
