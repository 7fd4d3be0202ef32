// The WebAssembly binding (SIMD128 build and scalar fallback) against the Rust CLI's vectors.
// Run by tools/bindings_test.sh after ./build.sh; $RVCNN_REF_DIR holds the CLI's vectors and
// $RVCNN_PRETRAINED the pretrained weights file (weights are passed as bytes: no network).
import test from 'node:test'
import assert from 'node:assert/strict'
import fs from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { PNG } from 'pngjs'

const here = path.dirname(fileURLToPath(import.meta.url))
const root = path.resolve(here, '../../..')
const images = path.join(root, 'bindings/testdata')
const refDir = process.env.RVCNN_REF_DIR || path.join(root, 'target/bindings-ref')
const pretrained = process.env.RVCNN_PRETRAINED
assert.ok(pretrained, 'RVCNN_PRETRAINED must name the pretrained weights (rvcnn fetch --print-path)')
const v3small = path.join(root, 'model/tests/fixtures/mobilenet_v3_small.safetensors')

function reference (name) {
  const out = new Map()
  for (const line of fs.readFileSync(path.join(refDir, name), 'utf8').split('\n')) {
    if (line) {
      const rec = JSON.parse(line)
      out.set(path.basename(rec.path), Float32Array.from(rec.embedding))
    }
  }
  return out
}

function cosine (a, b) {
  let ab = 0; let aa = 0; let bb = 0
  for (let i = 0; i < a.length; i++) { ab += a[i] * b[i]; aa += a[i] * a[i]; bb += b[i] * b[i] }
  return ab / Math.sqrt(aa * bb)
}

const decoded = fs.readdirSync(images).filter((f) => f.endsWith('.png')).sort().map((f) => {
  const png = PNG.sync.read(fs.readFileSync(path.join(images, f)))
  return { name: f, data: png.data, width: png.width, height: png.height }
})

async function load (dir) {
  const mod = await import(path.join(here, '..', dir, 'ruvector_cnn_wasm.js'))
  mod.initSync({ module: fs.readFileSync(path.join(here, '..', dir, 'ruvector_cnn_wasm_bg.wasm')) })
  return mod
}

for (const [dir, isa] of [['pkg', 'wasm128'], ['pkg-scalar', 'scalar']]) {
  test(`${dir}: the pretrained model matches the CLI (${isa} kernels)`, async () => {
    const { WasmCnnEmbedder } = await load(dir)
    assert.equal(WasmCnnEmbedder.isa, isa)
    const e = new WasmCnnEmbedder(fs.readFileSync(pretrained))
    assert.equal(e.embeddingDim, 1280)
    assert.equal(e.model, 'mobilenetv2')
    const ref = reference('default.jsonl')
    assert.equal(decoded.length, 4)
    for (const img of decoded) {
      const t0 = performance.now()
      const v = e.extract(img.data, img.width, img.height)
      const ms = performance.now() - t0
      assert.ok(v instanceof Float32Array && v.length === 1280)
      const cos = cosine(v, ref.get(img.name))
      assert.ok(cos >= 0.9999, `${img.name}: cosine ${cos}`)
      console.log(`# ${dir} ${img.name}: cosine ${cos.toFixed(7)}, ${ms.toFixed(1)} ms`)
    }
  })

  test(`${dir}: other weights, formats, options and errors`, async () => {
    const { WasmCnnEmbedder } = await load(dir)
    const ref = reference('v3small.jsonl')
    const e = new WasmCnnEmbedder(fs.readFileSync(v3small), 'mobilenetv3-small')
    for (const img of decoded) {
      assert.ok(cosine(e.extract(img.data, img.width, img.height), ref.get(img.name)) >= 0.9999)
    }
    const { data, width, height } = decoded[0]
    const rgb = new Uint8Array(width * height * 3)
    for (let p = 0; p < width * height; p++) rgb.set(data.subarray(4 * p, 4 * p + 3), 3 * p)
    assert.deepEqual(e.extractFormat(rgb, width, height, 'rgb'), e.extract(data, width, height))
    const raw = new WasmCnnEmbedder(fs.readFileSync(v3small), undefined, 96, false, 'penultimate', 'letterbox')
    assert.ok(Math.abs(Math.hypot(...raw.extract(data, width, height)) - 1) > 1e-3)
    assert.throws(() => e.extract(data.subarray(0, 10), width, height), /image buffer holds 10 bytes/)
    assert.throws(() => e.extractFormat(rgb, width, height, 'yuv'), /unknown pixel format `yuv`/)
    assert.throws(() => new WasmCnnEmbedder(new Uint8Array(20)), /bad weight file/)
    assert.throws(() => new WasmCnnEmbedder(fs.readFileSync(v3small), 'resnet9'), /unknown model `resnet9`/)
    e.free()
  })
}
