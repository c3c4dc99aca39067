// Passes that recognise the decompositions exporters write for one operator and put the
// operator back (run by passes::optimize, passes.h).
#pragma once

#include "frugal/passes/passes.h"

namespace frugal::passes {

// The LayerNorm decomposition ReduceMean, Sub, Pow(2) or Mul, ReduceMean, Add(eps), Sqrt,
// Div, then optionally a constant Mul (scale) and Add (bias), over the same trailing axes,
// becomes one LayerNormalization (opset 17's definition; scale 1 when there is no Mul).
// Then the RMS norm of T5 and LLaMA, Pow(2) or Mul, ReduceMean, Add(eps), Sqrt, then Div, or
// Reciprocal (or Div(1, .)) and Mul, then optionally a constant Mul, becomes one
// RMSNormalization (opset 23's definition, ops/rms_norm.cpp).
// Only values the pattern alone reads are absorbed. Needs shapes (`options`).
ir::Graph fuse_layer_norm(const ir::Graph& graph, const ops::InferOptions& options,
                          PassReport& report);

// The exact GELU decomposition 0.5 * x * (1 + Erf(x / sqrt(2))) (Div by sqrt(2) or Mul by
// 1/sqrt(2); the 0.5 applied last or to x first) becomes one Gelu (opset 20's definition).
ir::Graph fuse_gelu(const ir::Graph& graph, const ops::InferOptions& options, PassReport& report);

// HardSwish as exporters write it before opset 14, x * clip(x + 3, 0, 6) / 6 (the division
// by 6, or product by 1/6, before or after the product by x; any operand order; the Clip's
// bounds as attributes or constant inputs) or x * hardsigmoid(x, 1/6, 1/2), becomes one
// HardSwish (opset 14's definition), which fuse_activations then fuses into its producer.
// PaddleOCR's PP-LCNet (paddle2onnx) writes the first after nearly every convolution.
ir::Graph fuse_hard_swish(const ir::Graph& graph, const ops::InferOptions& options,
                          PassReport& report);

// Scaled dot-product attention, MatMul(Q, Kᵀ), an optional scale (Mul or Div by a
// one-element constant, of the product or of Q), an optional Add of a mask, Softmax over
// the last axis and MatMul by V, becomes one Attention node (domain "frugal",
// ops/attention.cpp); a Transpose producing Kᵀ from K (last two axes) is absorbed too.
// Only float32 Q, K, V with equal leading dimensions, each intermediate read once.
ir::Graph fuse_attention(const ir::Graph& graph, const ops::InferOptions& options,
                         PassReport& report);

// ReduceMean over every spatial axis (2 and up) of a float input of known rank, as
// torch.onnx exports x.mean([2, 3]) (MNASNet's head, timm's squeeze-excitation blocks),
// becomes GlobalAveragePool, followed by Flatten(axis 1) when it dropped the reduced axes
// (keepdims 0). The same mean; the cpu backend runs the pool in any layout, where
// ReduceMean has only the reference kernel. Runs before fuse_squeeze_excite, which then
// sees such blocks too. Needs shapes (`options`).
ir::Graph pool_spatial_means(const ir::Graph& graph, const ops::InferOptions& options,
                             PassReport& report);

// A squeeze-and-excitation block, GlobalAveragePool(X) -> 1x1 Conv (any activation
// post-ops) -> 1x1 Conv (one sigmoid or hardsigmoid post-op) -> Mul by X, becomes one
// SqueezeExcite node (domain "frugal", ops/squeeze_excite.h). The Convs must be dense 1x1
// products (constant weights, constant or no bias, group 1, no padding, unit strides);
// the pool, the Convs and their outputs must feed only the next step. Runs after
// fuse_activations. Needs shapes (`options`).
ir::Graph fuse_squeeze_excite(const ir::Graph& graph, const ops::InferOptions& options,
                              PassReport& report);

}  // namespace frugal::passes
