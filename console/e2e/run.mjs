// End-to-end journey in Debian's Chromium against a real `hks serve` on the
// local cluster: create a CronJob from a template with a command override and
// a weekly preset, see it in the list, Run now, see the run succeed and read
// its log line. Drives the page by role and accessible name only.
//
// Env: HKS_URL (default http://127.0.0.1:8080), HKS_TOKEN (required),
// HKS_PROJECT (default demo), HKS_TEMPLATE (default web). Screenshots go to
// test-results/ (not committed). Prints "N passed, N failed".

import { mkdirSync } from 'node:fs'
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
  try {
    await fn()
    passed++
    console.log(`ok - ${name}`)
  } catch (e) {
    failed++
    console.log(`not ok - ${name}\n  ${String(e).split('\n').join('\n  ')}`)
    throw e
  }
}

const name = `e2e-${Date.now().toString(36)}`
const context = await browser.newContext({ viewport: { width: 1280, height: 800 } })
const page = await context.newPage()
page.setDefaultTimeout(20_000)
try {
  await step('sign in with a token', async () => {
    await page.goto(base)
    await page.getByLabel('API token').fill(token)
    await page.getByRole('button', { name: 'Sign in' }).click()
    await page.getByRole('heading', { name: 'Projects' }).waitFor()
    await page.screenshot({ path: `${shots}projects.png` })
  })

  await step('open the project and start a new CronJob', async () => {
    await page.getByRole('link', { name: project, exact: true }).click()
    await page.getByRole('heading', { name: project, exact: true }).waitFor()
    await page.screenshot({ path: `${shots}project.png`, fullPage: true })
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
    const row = page.getByRole('row').filter({ hasText: name })
    await row.getByText('At 07:30, on Monday and Wednesday (Europe/Berlin)').waitFor()
    await page.screenshot({ path: `${shots}cronjob-list.png`, fullPage: true })
    await row.getByRole('link', { name }).click()
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

  await step('works at phone width', async () => {
    await page.setViewportSize({ width: 390, height: 844 })
    await page.getByRole('button', { name: 'Run now' }).waitFor()
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
} catch {
  await page.screenshot({ path: `${shots}failure.png`, fullPage: true }).catch(() => {})
} finally {
  await browser.close()
  console.log(`${passed} passed, ${failed} failed`)
  process.exitCode = failed ? 1 : 0
}
