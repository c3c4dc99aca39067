// Measured times of nodes and segments on host cores, for the partitioner: the bench
// profiler (measure/session_bench.h) over the whole model, and a segment extracted and timed.
#pragma once

#include <vector>

#include "frugal/pipeline/chain.h"
#include "frugal/runtime/session.h"

namespace frugal::pipeline {

// Seconds per inference of each node of chain.graph() (a node the session fused into
// another, or folded, gets 0: its time is in the node it was fused into), profiled for about
// `seconds` on seeded random inputs.
std::vector<double> profile_nodes(const Chain& chain, const runtime::SessionOptions& options,
                                  double seconds);

// Median seconds per inference of nodes [first, last) run alone as a model.
double time_segment(const Chain& chain, size_t first, size_t last,
                    const runtime::SessionOptions& options, double seconds);

}  // namespace frugal::pipeline
