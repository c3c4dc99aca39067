#!/usr/bin/env node
// Runs a segments folder (frugal partition -o DIR) in ONNX Runtime (onnxruntime-node, CPU):
// every segment alone, in the manifest's order, feeding each the tensors the earlier ones
// produced, and the whole model too; prints JSON with the largest difference of each model
// output relative to its largest magnitude.
//
//   node ort_chain.js MODEL.onnx DIR [--seed 1]
'use strict';
const fs = require('fs');
const path = require('path');

function fail(msg) {
  process.stderr.write(`ort_chain: ${msg}\n`);
  process.exit(1);
}

// ort_run.js's seeded uniform [-1, 1) input (the same input for both runs).
const {randomInput} = require(path.join(__dirname, '..', 'peers', 'ort_run.js'));

async function main() {
  const [model, dir] = process.argv.slice(2);
  if (!model || !dir) fail('usage: ort_chain.js MODEL.onnx DIR');
  const seed = 1;
  const ort = require(path.join(__dirname, '..', 'peers', 'node_modules', 'onnxruntime-node'));
  const manifest = JSON.parse(fs.readFileSync(path.join(dir, 'manifest.json'), 'utf8'));
  const whole = await ort.InferenceSession.create(model, {intraOpNumThreads: 1});
  const feeds = {};
  for (const name of whole.inputNames) {
    // Zoo models declare N x C x H x W with a symbolic batch: batch 1.
    const meta = whole.inputMetadata ? whole.inputMetadata.find((m) => m.name === name) : null;
    const dims = meta && meta.shape ? meta.shape.map((d) => (typeof d === 'number' ? d : 1)) : null;
    if (!dims) fail(`cannot read the shape of input '${name}'`);
    feeds[name] = new ort.Tensor('float32', randomInput(dims, seed).data, dims);
  }
  const want = await whole.run(feeds);
  const values = Object.assign({}, feeds);
  for (const seg of manifest.segments) {
    const s = await ort.InferenceSession.create(path.join(dir, seg.file), {intraOpNumThreads: 1});
    const inputs = {};
    for (const name of s.inputNames) {
      if (!(name in values)) fail(`segment ${seg.index} reads '${name}', which nothing produced`);
      inputs[name] = values[name];
    }
    const out = await s.run(inputs);
    for (const name of s.outputNames) values[name] = out[name];
  }
  const result = {ort_version: require(path.join(__dirname, '..', 'peers', 'node_modules', 'onnxruntime-node', 'package.json')).version,
                  segments: manifest.segments.length, outputs: {}};
  for (const name of manifest.outputs) {
    const a = want[name].data, b = values[name].data;
    let scale = 0, diff = 0;
    for (let i = 0; i < a.length; ++i) {
      scale = Math.max(scale, Math.abs(a[i]));
      diff = Math.max(diff, Math.abs(a[i] - b[i]));
    }
    result.outputs[name] = {elements: a.length, max_abs_diff: diff, relative: scale > 0 ? diff / scale : diff};
  }
  console.log(JSON.stringify(result));
}

main().catch((e) => fail(e.message));
