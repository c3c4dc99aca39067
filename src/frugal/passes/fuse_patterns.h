// Passes that recognise the decompositions exporters write for one operator and put the
// operator back (run by passes::optimize, passes.h).
#pragma once

#include "frugal/passes/passes.h"

namespace frugal::passes {

// The LayerNorm decomposition ReduceMean, Sub, Pow(2) or Mul, ReduceMean, Add(eps), Sqrt,
// Div, then optionally a constant Mul (scale) and Add (bias), over the same trailing axes,
// becomes one LayerNormalization (opset 17's definition; scale 1 when there is no Mul).
// Only values the pattern alone reads are absorbed. Needs shapes (`options`).
ir::Graph fuse_layer_norm(const ir::Graph& graph, const ops::InferOptions& options,
                          PassReport& report);

// The exact GELU decomposition 0.5 * x * (1 + Erf(x / sqrt(2))) (Div by sqrt(2) or Mul by
// 1/sqrt(2); the 0.5 applied last or to x first) becomes one Gelu (opset 20's definition).
ir::Graph fuse_gelu(const ir::Graph& graph, const ops::InferOptions& options, PassReport& report);

}  // namespace frugal::passes
