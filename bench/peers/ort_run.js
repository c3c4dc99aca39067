#!/usr/bin/env node
// Times one ONNX model in ONNX Runtime (onnxruntime-node, CPU execution provider) in
// process, and prints JSON: per-iteration milliseconds and the first output. The same
// arguments and JSON shape as frugal_peer (the frugal side), so compare.py can alternate.
//
//   node ort_run.js --model M.onnx [--input x.npy [--input y.npy ...] | --shape 1x3x224x224 --seed 1]
//                   [--threads 1] [--iters 20] [--warmup 3] [--no-output] [--profile]
// --profile adds ORT's own per-node times (its profiler, mean ms per iteration, and the
// median, ms_median: on a shared machine, the figure a preempted run does not move).
'use strict';
const fs = require('fs');
const path = require('path');

function fail(msg) {
  process.stderr.write(`ort_run: ${msg}\n`);
  process.exit(1);
}

function parseArgs(argv) {
  const a = {threads: 1, iters: 20, warmup: 3, seed: 1, output: true, inputs: []};
  for (let i = 0; i < argv.length; ++i) {
    const k = argv[i];
    const next = () => {
      if (i + 1 >= argv.length) fail(`${k} needs a value`);
      return argv[++i];
    };
    if (k === '--model') a.model = next();
    else if (k === '--input') a.inputs.push(next());  // the graph's inputs in order
    else if (k === '--shape') a.shape = next().split('x').map(Number);
    else if (k === '--seed') a.seed = Number(next());
    else if (k === '--threads') a.threads = Number(next());
    else if (k === '--iters') a.iters = Number(next());
    else if (k === '--warmup') a.warmup = Number(next());
    else if (k === '--no-output') a.output = false;
    else if (k === '--profile') a.profile = true;
    else fail(`unknown argument '${k}'`);
  }
  if (!a.model) fail('--model is required');
  if (!a.inputs.length && !a.shape) fail('give --input FILE.npy or --shape DIMS');
  for (const k of ['threads', 'iters', 'warmup'])
    if (!Number.isInteger(a[k]) || a[k] < (k === 'warmup' ? 0 : 1)) fail(`--${k}: bad value`);
  return a;
}

// A float32 or int64, little-endian, C-order .npy (format 1.0 to 3.0).
function readNpy(file) {
  const buf = fs.readFileSync(file);
  if (buf.length < 10 || buf.toString('latin1', 0, 6) !== '\x93NUMPY') fail(`${file}: not an .npy file`);
  const major = buf[6];
  const hlen = major === 1 ? buf.readUInt16LE(8) : buf.readUInt32LE(8);
  const start = (major === 1 ? 10 : 12) + hlen;
  const header = buf.toString('latin1', major === 1 ? 10 : 12, start);
  const int64 = /'descr':\s*'<i8'/.test(header);
  if (!int64 && !/'descr':\s*'<f4'/.test(header)) fail(`${file}: only float32 ('<f4') and int64 ('<i8') are supported`);
  if (/'fortran_order':\s*True/.test(header)) fail(`${file}: Fortran order is not supported`);
  const m = /'shape':\s*\(([^)]*)\)/.exec(header);
  if (!m) fail(`${file}: no shape in the header`);
  const shape = m[1].split(',').map((s) => s.trim()).filter((s) => s.length).map(Number);
  const count = shape.reduce((x, y) => x * y, 1);
  if (buf.length - start < count * (int64 ? 8 : 4)) fail(`${file}: truncated`);
  if (int64) {
    const data = new BigInt64Array(count);
    for (let i = 0; i < count; ++i) data[i] = buf.readBigInt64LE(start + 8 * i);
    return {shape, data, type: 'int64'};
  }
  const data = new Float32Array(count);
  for (let i = 0; i < count; ++i) data[i] = buf.readFloatLE(start + 4 * i);
  return {shape, data, type: 'float32'};
}

// Uniform [-1, 1) from a 32-bit xorshift stream: reproducible, not frugal's own generator
// (compare.py always passes the same .npy to both runtimes).
function randomInput(shape, seed) {
  const count = shape.reduce((x, y) => x * y, 1);
  const data = new Float32Array(count);
  let s = (seed >>> 0) || 1;
  for (let i = 0; i < count; ++i) {
    s ^= s << 13; s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5; s >>>= 0;
    data[i] = (s / 4294967296) * 2 - 1;
  }
  return {shape, data, type: 'float32'};
}

// Mean ms per run of each node from ORT's trace (Chrome trace JSON, durations in us).
function readProfile(session, prefix, runs) {
  session.endProfiling();
  const dir = path.dirname(prefix);
  const files = fs.readdirSync(dir).filter((f) => f.endsWith('.json'));
  if (!files.length) return [];
  const events = JSON.parse(fs.readFileSync(path.join(dir, files[0]), 'utf8'));
  const nodes = new Map();
  for (const e of events) {
    if (e.cat !== 'Node' || !e.name.endsWith('_kernel_time')) continue;
    const name = e.name.slice(0, -'_kernel_time'.length);
    const n = nodes.get(name) || {node: name, op: e.args && e.args.op_name, ms: 0, runs: []};
    n.ms += e.dur / 1000 / runs;
    n.runs.push(e.dur / 1000);
    nodes.set(name, n);
  }
  for (const n of nodes.values()) {
    n.runs.sort((x, y) => x - y);
    n.ms_median = n.runs[Math.floor(n.runs.length / 2)];
    delete n.runs;
  }
  return Array.from(nodes.values());
}

async function main() {
  const a = parseArgs(process.argv.slice(2));
  let ort;
  try {
    ort = require(path.join(__dirname, 'node_modules', 'onnxruntime-node'));
  } catch (e) {
    fail(`onnxruntime-node is not installed: run bench/peers/install.sh (${e.message})`);
  }
  const version = require(path.join(__dirname, 'node_modules', 'onnxruntime-node', 'package.json')).version;
  const os = require('os');
  const prefix = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'ort-prof-')), 'ort');
  const created = process.hrtime.bigint();  // init_ms: file read to session ready
  const session = await ort.InferenceSession.create(a.model, {
    enableProfiling: !!a.profile,
    profileFilePrefix: prefix,
    executionProviders: ['cpu'],
    intraOpNumThreads: a.threads,
    interOpNumThreads: 1,
    executionMode: 'sequential',
    graphOptimizationLevel: 'all',
  });
  const initMs = Number(process.hrtime.bigint() - created) / 1e6;
  const xs = a.inputs.length ? a.inputs.map(readNpy) : [randomInput(a.shape, a.seed)];
  if (xs.length > session.inputNames.length) fail(`${a.model}: ${xs.length} inputs given, the model has ${session.inputNames.length}`);
  const feeds = {};
  xs.forEach((x, i) => { feeds[session.inputNames[i]] = new ort.Tensor(x.type, x.data, x.shape); });
  const x = xs[0];
  let out;
  for (let i = 0; i < a.warmup; ++i) out = await session.run(feeds);
  const ms = [];
  for (let i = 0; i < a.iters; ++i) {
    const t0 = process.hrtime.bigint();
    out = await session.run(feeds);
    ms.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  const name = session.outputNames[0];
  const y = out[name];
  const result = {
    runtime: `onnxruntime-node ${version}`,
    model: a.model,
    batch: x.shape[0],
    threads: a.threads,
    ms,
    init_ms: initMs,
    output: {name, shape: y.dims.map(Number)},
  };
  if (a.output) result.output.data = Array.from(y.data);
  if (a.profile) result.profile = readProfile(session, prefix, a.warmup + a.iters);
  process.stdout.write(JSON.stringify(result) + '\n');
}

module.exports = {randomInput};
if (require.main === module) main().catch((e) => fail(e.message));
