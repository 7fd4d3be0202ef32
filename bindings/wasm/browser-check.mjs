// Loads example/index.html in headless Chromium (playwright-core driving /usr/bin/chromium),
// picks the weights and two test images through its file inputs, and checks the page prints
// an embedding for each. Not part of .ci/run (Chromium is ~300 MB of packages): run by
// `tools/bindings_test.sh --only wasm --browser`, which installs Debian's chromium.
//   RVCNN_PRETRAINED=$(rvcnn fetch --print-path) node browser-check.mjs
import http from 'node:http'
import fs from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { chromium } from 'playwright-core'

const here = path.dirname(fileURLToPath(import.meta.url))
const types = { '.html': 'text/html', '.js': 'text/javascript', '.wasm': 'application/wasm' }
const server = http.createServer((req, res) => {
  const file = path.join(here, decodeURIComponent(new URL(req.url, 'http://x').pathname))
  if (!file.startsWith(here) || !fs.existsSync(file)) { res.writeHead(404); res.end(); return }
  const target = fs.statSync(file).isDirectory() ? path.join(file, 'index.html') : file
  res.writeHead(200, { 'content-type': types[path.extname(target)] || 'application/octet-stream' })
  fs.createReadStream(target).pipe(res)
})
await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve))
const url = `http://127.0.0.1:${server.address().port}/example/`
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking',
    '--disable-component-update', '--disable-sync', '--no-first-run']
})
try {
  const page = await browser.newPage()
  const errors = []
  page.on('pageerror', (e) => errors.push(e.message))
  await page.goto(url)
  const log = page.locator('#log')
  await log.filter({ hasText: 'Module ready' }).waitFor({ timeout: 30000 })
  await page.setInputFiles('#weights', process.env.RVCNN_PRETRAINED)
  await log.filter({ hasText: '1280-d embeddings' }).waitFor({ timeout: 60000 })
  const testdata = path.join(here, '../testdata')
  await page.setInputFiles('#images', ['chelsea.png', 'coffee.png'].map((f) => path.join(testdata, f)))
  await log.filter({ hasText: 'cosine to the previous image' }).waitFor({ timeout: 60000 })
  const text = await log.textContent()
  console.log(text)
  if (errors.length || !/wasm128 kernels/.test(text) || !/chelsea\.png: [\d.]+ ms, \[/.test(text)) {
    throw new Error(`page check failed: ${errors.join('; ')}`)
  }
  console.log('browser-check: the example page embedded both images in headless Chromium')
} finally {
  await browser.close()
  server.close()
}
