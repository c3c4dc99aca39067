// Accuracy-driven mixed precision (issue 8): per-layer precisions (fp32, bf16, int8) that
// keep the score within `max_drop` of the all-fp32 score at the lowest measured latency.
//
// The caller supplies two callbacks on a precision assignment (node name -> precision,
// nodes absent run fp32): `score` (accuracy in points, higher is better) and `latency`
// (seconds or ms, lower is better); `session_options` turns an assignment into the
// SessionOptions::node_backends that run it. This file measures nothing itself.
//
// Search:
//  1. baseline: everything fp32 (score s0, latency t0);
//  2. sensitivity: each layer alone in each candidate precision (drop s0 - s, gain t0 - t);
//  3. moves (layer, precision) ordered by drop per unit of gain (least harmful first; a move
//     that gains nothing goes last), applied cumulatively (a layer's later move replaces its
//     earlier one), every prefix evaluated (score and latency measured, not predicted);
//  4. the answer: among all evaluated assignments (sensitivity ones included), the lowest
//     latency whose drop <= max_drop; plus the accuracy/latency Pareto front of everything
//     evaluated (no configuration both faster and more accurate).
#pragma once

#include <functional>
#include <map>
#include <string>
#include <vector>

#include "frugal/runtime/session.h"

namespace frugal::compress {

enum class LayerPrecision { kFp32, kBf16, kInt8 };
const char* precision_name(LayerPrecision p);

using PrecisionMap = std::map<std::string, LayerPrecision>;  // absent: fp32

struct MixedPrecisionOptions {
  double max_drop = 0.5;  // points of score
  std::vector<LayerPrecision> candidates{LayerPrecision::kInt8, LayerPrecision::kBf16};
};

struct Evaluated {
  PrecisionMap assignment;
  double score = 0;
  double latency = 0;
  std::string origin;  // "baseline", "sensitivity", "search"
};

struct LayerSensitivity {
  std::string layer;
  LayerPrecision precision;
  double drop;  // s0 - score with only this layer in `precision`
  double gain;  // t0 - latency with only this layer in `precision`
};

struct MixedPrecisionResult {
  Evaluated baseline;
  std::vector<LayerSensitivity> sensitivity;  // in the order of `layers` and candidates
  std::vector<Evaluated> evaluated;           // everything measured, in order
  std::vector<Evaluated> front;               // Pareto front of `evaluated`, by latency
  bool met = false;                           // some assignment met max_drop
  Evaluated best;  // lowest latency meeting max_drop (the baseline when none does)
};

using PrecisionScoreFn = std::function<double(const PrecisionMap&)>;
using PrecisionLatencyFn = std::function<double(const PrecisionMap&)>;

// Throws UserError for no layers, a duplicate layer, a negative or non-finite max_drop, or
// no candidates.
MixedPrecisionResult search_mixed_precision(const std::vector<std::string>& layers,
                                            const PrecisionScoreFn& score,
                                            const PrecisionLatencyFn& latency,
                                            const MixedPrecisionOptions& options = {});

// The assignment as per-node backend lists on top of `base`: its backends' variants for
// each precision (kernels::with_precision; here int8: cpu:int8,cpu,ref; bf16: cpu:bf16,ref;
// fp32: cpu,ref). int8 nodes need `base.backend_config.ranges`.
runtime::SessionOptions session_options(const runtime::SessionOptions& base,
                                        const PrecisionMap& assignment);

}  // namespace frugal::compress
