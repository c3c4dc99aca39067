#!/usr/bin/env node
// Top-1 accuracy of an ONNX classifier on the Fashion-MNIST test split in ONNX Runtime
// (onnxruntime-node from bench/peers/node_modules, CPU execution provider). Preprocessing as
// `frugal eval --data fashion-mnist:test`: pixels / 255, no normalisation, N x 1 x 28 x 28.
//
//   node ort_eval.js MODEL.onnx [--root /usr/share/datasets] [--limit N] [--batch 100]
//                    [--predictions OUT.txt]
// Prints JSON: {"samples", "top1", "correct", "ort_version", "provider"}. Exit 77 when
// onnxruntime-node is not installed (CI), 1 on bad input.
'use strict';
const fs = require('fs');
const path = require('path');
const zlib = require('zlib');

function fail(msg, code = 1) {
  process.stderr.write(`ort_eval: ${msg}\n`);
  process.exit(code);
}

const args = process.argv.slice(2);
const a = {root: '/usr/share/datasets', limit: 0, batch: 100};
for (let i = 0; i < args.length; ++i) {
  const k = args[i];
  const next = () => (i + 1 < args.length ? args[++i] : fail(`${k} needs a value`));
  if (k === '--root') a.root = next();
  else if (k === '--limit') a.limit = Number(next());
  else if (k === '--batch') a.batch = Number(next());
  else if (k === '--predictions') a.predictions = next();
  else if (k.startsWith('--')) fail(`unknown argument '${k}'`);
  else if (!a.model) a.model = k;
  else fail(`unexpected '${k}'`);
}
if (!a.model) fail('usage: ort_eval.js MODEL.onnx [--limit N]');
if (!fs.existsSync(a.model)) fail(`${a.model}: no such file`);

const peers = path.join(__dirname, '..', 'peers', 'node_modules', 'onnxruntime-node');
if (!fs.existsSync(peers)) fail(`${peers} absent (bench/peers/install.sh installs it)`, 77);
let ort;
try {
  ort = require(peers);
} catch (e) {
  fail(`cannot load onnxruntime-node: ${e.message}`, 77);
}

function idx(file) {
  const buf = zlib.gunzipSync(fs.readFileSync(file));
  const dims = buf[3];
  const shape = [];
  for (let d = 0; d < dims; ++d) shape.push(buf.readUInt32BE(4 + 4 * d));
  return {shape, data: buf.subarray(4 + 4 * dims)};
}

(async () => {
  const dir = path.join(a.root, 'fashion-mnist');
  const images = idx(path.join(dir, 't10k-images-idx3-ubyte.gz'));
  const labels = idx(path.join(dir, 't10k-labels-idx1-ubyte.gz'));
  let n = images.shape[0];
  if (a.limit > 0) n = Math.min(n, a.limit);
  const hw = images.shape[1] * images.shape[2];
  const session = await ort.InferenceSession.create(a.model, {
    executionProviders: ['cpu'], intraOpNumThreads: 1, interOpNumThreads: 1,
    graphOptimizationLevel: 'all'});
  const input = session.inputNames[0];
  let correct = 0;
  const preds = [];
  for (let start = 0; start < n; start += a.batch) {
    const b = Math.min(a.batch, n - start);
    const x = new Float32Array(b * hw);
    for (let i = 0; i < b * hw; ++i) x[i] = images.data[start * hw + i] / 255;
    let out;
    try {
      out = await session.run({[input]: new ort.Tensor('float32', x, [b, 1, images.shape[1], images.shape[2]])});
    } catch (e) {
      // A model exported with a fixed batch of 1: run sample by sample.
      if (b === 1) throw e;
      a.batch = 1;
      start -= 1;  // the loop adds the new batch size back: this start again
      continue;
    }
    const y = out[session.outputNames[0]];
    const k = y.data.length / b;
    for (let s = 0; s < b; ++s) {
      let best = 0;
      for (let c = 1; c < k; ++c) if (y.data[s * k + c] > y.data[s * k + best]) best = c;
      preds.push(best);
      if (best === labels.data[start + s]) ++correct;
    }
  }
  if (a.predictions) fs.writeFileSync(a.predictions, preds.join('\n') + '\n');
  const version = require(path.join(peers, 'package.json')).version;
  process.stdout.write(JSON.stringify({samples: n, top1: correct / n, correct, ort_version: version,
                                       provider: 'cpu'}) + '\n');
})().catch((e) => fail(e.message));
