// The Node binding against the Rust CLI's vectors, plus its input handling and errors.
// Run by tools/bindings_test.sh, which builds the addon and writes the CLI's reference vectors
// ($RVCNN_REF_DIR: default.jsonl for the pretrained model, v3small.jsonl for the
// MobileNetV3-Small fixture, both on bindings/testdata).
'use strict'
const test = require('node:test')
const assert = require('node:assert/strict')
const fs = require('node:fs')
const path = require('node:path')
const { PNG } = require('pngjs')
const { CnnEmbedder, cosineSimilarity } = require('..')

const root = path.resolve(__dirname, '../../..')
const images = path.join(root, 'bindings/testdata')
const v3small = path.join(root, 'model/tests/fixtures/mobilenet_v3_small.safetensors')
const refDir = process.env.RVCNN_REF_DIR || path.join(root, 'target/bindings-ref')

function reference (name) {
  const out = new Map()
  for (const line of fs.readFileSync(path.join(refDir, name), 'utf8').split('\n')) {
    if (!line) continue
    const rec = JSON.parse(line)
    out.set(path.basename(rec.path), Float32Array.from(rec.embedding))
  }
  assert.ok(out.size > 0)
  return out
}

const files = fs.readdirSync(images).filter((f) => f.endsWith('.png')).sort()
const decoded = files.map((f) => {
  const png = PNG.sync.read(fs.readFileSync(path.join(images, f)))
  return { name: f, data: png.data, width: png.width, height: png.height } // RGBA
})
const embedder = new CnnEmbedder()

test('the default model matches the CLI', () => {
  assert.equal(files.length, 4)
  assert.equal(embedder.embeddingDim, 1280)
  assert.equal(embedder.model, 'mobilenetv2')
  assert.equal(embedder.precision, 'f32')
  const ref = reference('default.jsonl')
  for (const img of decoded) {
    const v = embedder.extract(img.data, img.width, img.height, 'rgba')
    assert.ok(v instanceof Float32Array)
    assert.equal(v.length, 1280)
    const cos = cosineSimilarity(v, ref.get(img.name))
    assert.ok(cos >= 0.9999, `${img.name}: cosine ${cos}`)
    for (let i = 0; i < v.length; i++) assert.ok(Math.abs(v[i] - ref.get(img.name)[i]) < 1e-6)
  }
})

test('extractBatch resolves off the JS thread to the same vectors, in order', async () => {
  const singles = decoded.map((i) => embedder.extract(i.data, i.width, i.height))
  const order = []
  const pending = new CnnEmbedder({ threads: 2 }).extractBatch(
    decoded.map(({ data, width, height }) => ({ data, width, height, format: 'rgba' })))
  pending.then(() => order.push('batch'))
  setImmediate(() => order.push('event loop'))
  const batch = await pending
  // The event loop turned while the batch was computed elsewhere (a synchronous compute would
  // settle the promise, and run its callback, first).
  assert.deepEqual(order, ['event loop', 'batch'])
  assert.equal(batch.length, 4)
  batch.forEach((v, k) => assert.deepEqual(v, singles[k]))
  assert.deepEqual(await embedder.extractBatch([]), [])
})

test('pixel formats: rgb, bgr and gray buffers', () => {
  const { data, width, height } = decoded[1]
  const rgb = Buffer.alloc(width * height * 3)
  const bgr = Buffer.alloc(width * height * 3)
  const gray = Buffer.alloc(width * height)
  const grayRgb = Buffer.alloc(width * height * 3)
  for (let p = 0; p < width * height; p++) {
    for (let c = 0; c < 3; c++) {
      rgb[3 * p + c] = data[4 * p + c]
      bgr[3 * p + 2 - c] = data[4 * p + c]
      grayRgb[3 * p + c] = data[4 * p + 1]
    }
    gray[p] = data[4 * p + 1]
  }
  const v = embedder.extract(data, width, height)
  assert.deepEqual(embedder.extract(rgb, width, height, 'rgb'), v)
  assert.deepEqual(embedder.extract(bgr, width, height, 'bgr'), v)
  assert.deepEqual(embedder.extract(gray, width, height, 'gray'), embedder.extract(grayRgb, width, height, 'rgb'))
})

test('weights by path and by bytes match the CLI', () => {
  const ref = reference('v3small.jsonl')
  const byPath = new CnnEmbedder({ model: 'mobilenetv3-small', weights: v3small })
  const byBytes = new CnnEmbedder({ weightsBytes: fs.readFileSync(v3small) })
  assert.equal(byPath.model, 'mobilenetv3-small')
  for (const img of decoded) {
    const a = byPath.extract(img.data, img.width, img.height)
    assert.deepEqual(a, byBytes.extract(img.data, img.width, img.height))
    assert.ok(cosineSimilarity(a, ref.get(img.name)) >= 0.9999)
  }
})

test('options: no normalisation, input size, letterbox', () => {
  const raw = new CnnEmbedder({ normalize: false, inputSize: 160, fit: 'letterbox' })
  const v = raw.extract(Buffer.alloc(50 * 90 * 4, 128), 90, 50)
  const norm = Math.hypot(...v)
  assert.ok(Math.abs(norm - 1) > 1e-3, `norm ${norm}`)
})

test('errors are JS exceptions with the Rust message', async () => {
  assert.throws(() => embedder.extract(Buffer.alloc(10), 8, 8), /image buffer holds 10 bytes/)
  assert.throws(() => embedder.extract(Buffer.alloc(192), 8, 8, 'rgb565'), /unknown pixel format `rgb565`/)
  assert.throws(() => embedder.extract(Buffer.alloc(0), 0, 8), /each side must be/)
  assert.throws(() => new CnnEmbedder({ model: 'resnet9' }), /unknown model `resnet9`/)
  assert.throws(() => new CnnEmbedder({ model: 'mobilenetv3-large' }), /no pretrained/)
  assert.throws(() => new CnnEmbedder({ weights: '/no-such.safetensors' }), /no-such.safetensors/)
  assert.throws(() => new CnnEmbedder({ weightsBytes: Buffer.alloc(20) }), /bad weight file/)
  assert.throws(() => new CnnEmbedder({ output: 'mean' }), /unknown output `mean`/)
  await assert.rejects(embedder.extractBatch([{ data: Buffer.alloc(3), width: 4, height: 4 }]), /image buffer holds 3 bytes/)
  assert.throws(() => cosineSimilarity(new Float32Array(2), new Float32Array(3)), /differ in length/)
})
