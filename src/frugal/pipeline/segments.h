// A partitioned model on disk: one ONNX file per segment plus manifest.json (order, devices,
// the tensors passed between segments, the predicted figures), and running the segments
// one after the other in frugal.
//
// manifest.json:
//   {"format": "frugal-segments", "version": 1, "model": NAME, "method": ..., "objective": ...,
//    "precision": ..., "devices": SOURCE, "inputs": [model inputs], "outputs": [model outputs],
//    "segments": [{"index": k, "file": "segment_k.onnx", "device": NAME, "kind": KIND,
//                  "estimate": bool, "nodes": [first, last), "first_node", "last_node",
//                  "inputs": [{"name", "from": -1 (model input) | segment}],
//                  "outputs": [{"name", "to": [segments], "model_output": bool}],
//                  "params", "param_bytes", "macs", "layers", "bytes_in", "bytes_out",
//                  "memory_bytes", "time_s", "energy_j"}],
//    "predicted": {"slowest_stage_s", "latency_s", "throughput_per_s", "energy_j", "estimate"}}
#pragma once

#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "frugal/ir/graph.h"
#include "frugal/pipeline/partition.h"
#include "frugal/runtime/session.h"

namespace frugal::pipeline {

// The partition as JSON (the manifest without file names when `files` is false).
nlohmann::json partition_json(const Partition& p, bool files);

// Writes DIR/segment_k.onnx and DIR/manifest.json. Atomic: everything is written into a
// fresh sibling folder that replaces DIR at the end (a DIR that exists must be an earlier
// segments folder, i.e. hold manifest.json); on error nothing is left behind.
void write_segments(const Partition& p, const std::string& dir);

struct ManifestSegment {
  std::string file;  // full path
  std::string device;
  std::vector<std::string> inputs, outputs;
  nlohmann::json info;  // the manifest entry as written
};

struct Manifest {
  std::string dir;
  std::vector<std::string> inputs, outputs;  // of the whole model
  std::vector<ManifestSegment> segments;
  nlohmann::json json;
};

// Reads DIR/manifest.json and checks that the segments chain: each segment's inputs are
// model inputs or outputs of earlier segments, every model output is produced, and each
// segment file's inputs and outputs are those the manifest lists. UserError naming
// the file, segment and value otherwise.
Manifest read_manifest(const std::string& dir);

// Runs the segments in order on one host Session each; returns the model outputs in the
// manifest's order.
std::vector<Tensor> run_segments(const Manifest& m, const std::vector<Tensor>& inputs,
                                 const runtime::SessionOptions& options);

}  // namespace frugal::pipeline
