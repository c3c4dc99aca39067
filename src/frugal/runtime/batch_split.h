// Split plans: the first nodes of a graph run over sub-batches of the batch, the rest over
// the whole of it, in one plan. Sub-batches (runtime/sub_batch.h) keep the early layers of a
// CNN in cache, where activations are large and weights small; run the same way, the late
// layers read their (large) weights once per sub-batch for activations that fit anyway.
#pragma once

#include <cstdint>
#include <functional>
#include <set>
#include <string>

#include "frugal/ir/graph.h"

namespace frugal::runtime {

// `graph` (topologically sorted) with its nodes [0, prefix) run as batch / size copies, copy
// c over images [c * size, (c + 1) * size): each graph input they read is split along
// dimension 0 (Split), the values they produce are renamed per copy, and each such value
// that later nodes or the graph outputs read is concatenated back along dimension 0 under
// its own name (Concat). Prefix nodes that read nothing batched (Constant, shapes of
// weights) stay single. `batched(v)` says whether value v has the batch as dimension 0; the
// caller has checked that the prefix keeps images apart (sub_batch_refusal) and that every
// value crossing the cut is batched.
// The values nodes [0, prefix) produce once per copy: the outputs of the nodes that read a
// batched graph input or such a value.
std::set<std::string> copied_values(const ir::Graph& graph, size_t prefix,
                                    const std::function<bool(const std::string&)>& batched);

ir::Graph split_batch(const ir::Graph& graph, size_t prefix, int64_t size, int64_t batch,
                      const std::function<bool(const std::string&)>& batched);

}  // namespace frugal::runtime
