// Single-image latency of the WASM builds under node (median over the four test images,
// 30 rounds, after a warm-up), for comparison with the native library:
//   RVCNN_PRETRAINED=$(rvcnn fetch --print-path) node bindings/wasm/bench.mjs
import fs from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { PNG } from 'pngjs'

const here = path.dirname(fileURLToPath(import.meta.url))
const dir = path.join(here, '../testdata')
const images = fs.readdirSync(dir).filter((f) => f.endsWith('.png')).sort()
  .map((f) => PNG.sync.read(fs.readFileSync(path.join(dir, f))))
const weights = fs.readFileSync(process.env.RVCNN_PRETRAINED)
for (const pkg of ['pkg', 'pkg-scalar']) {
  const mod = await import(path.join(here, pkg, 'ruvector_cnn_wasm.js'))
  const wasm = fs.readFileSync(path.join(here, pkg, 'ruvector_cnn_wasm_bg.wasm'))
  mod.initSync({ module: wasm })
  const e = new mod.WasmCnnEmbedder(weights)
  for (const i of images) e.extract(i.data, i.width, i.height)
  const times = []
  for (let r = 0; r < 30; r++) {
    for (const i of images) {
      const t0 = performance.now()
      e.extract(i.data, i.width, i.height)
      times.push(performance.now() - t0)
    }
  }
  times.sort((a, b) => a - b)
  const median = times[times.length >> 1]
  console.log(`${pkg} (${mod.WasmCnnEmbedder.isa}): ${wasm.length} bytes, median ${median.toFixed(2)} ms over ${times.length}`)
  e.free()
}
