// Graph passes: Graph -> Graph rewrites that make a model cheaper to run without changing
// what it computes (up to float rounding: a folded BatchNorm rounds differently). Each
// pass reports what it did, so `frugal info --plan` and the Session can show it.
//
// Layering: passes sits after ops (it folds constants with the reference kernels and
// knows the post-ops of ops/post_ops.h) and before kernels.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "frugal/ir/graph.h"
#include "frugal/ops/infer.h"

namespace frugal::passes {

struct PassReport {
  std::string pass;                // "fold_batch_norm"
  int64_t changes = 0;             // nodes removed or fused away
  std::vector<std::string> nodes;  // what changed, one line each: "bn1 into conv1"
};

// Nodes whose outputs are known before running (PyTorch's Shape->Gather->Unsqueeze->
// Concat->Reshape chains, Constant nodes) become initializers and leave the graph. Folding
// Shape binds the graph inputs' shapes to those of `options` (batch, --shape): they are then
// written into the graph's input declarations.
ir::Graph fold_constants(const ir::Graph& graph, const ops::InferOptions& options,
                         PassReport& report);

// Identity, Dropout in inference mode whose mask output is unused, and a Mul or Div by a
// rank-0 constant 1 (PaddleOCR's swish, x * sigmoid(1 * x)) are removed; their readers read
// the input instead. A graph output keeps its name (the producer is renamed).
ir::Graph remove_identities(const ir::Graph& graph, PassReport& report);

// BatchNormalization in inference mode after a Conv, ConvTranspose or Gemm with constant
// weights, whose output nothing else reads and that is not a graph output, is folded into
// that node's weights and bias (computed in double). All BN parameters must be constant.
// So is a Mul by or an Add of a float constant of one value or one per output channel
// (1 x C x 1 x 1 after a 2-D Conv; C or 1 x C after a Gemm), either operand order
// (PaddleOCR's learnable affine blocks after each convolution).
ir::Graph fold_batch_norm(const ir::Graph& graph, PassReport& report);

// A Concat along the channels whose only readers are one-group Convs with constant float32
// weights: each such Conv becomes one Conv per Concat input (its weights cut along the
// input channels, the bias on the first) summed by Adds, and the Concat goes (it copied
// every channel; the later passes fuse the Adds as sum post-ops). Needs shapes.
ir::Graph split_conv_over_concat(const ir::Graph& graph, const ops::InferOptions& options,
                                 PassReport& report);

// Add(P(...), S), P a Conv, ConvTranspose, Gemm or MatMul whose float32 output only this
// Add reads (and is not a graph output), becomes P with the post-op "sum" and S as its sum
// operand (ops/post_ops.h), when S broadcasts to P's output. Needs shapes (`options`).
ir::Graph fuse_residual_add(const ir::Graph& graph, const ops::InferOptions& options,
                            PassReport& report);

// Relu, LeakyRelu, Clip (constant bounds), Sigmoid, HardSwish, HardSigmoid and Gelu (either
// form) after a Conv, ConvTranspose, Gemm or MatMul, or after a BatchNormalization in
// inference form with constant statistics, whose float32 output only the activation reads
// (and is not a graph output) become post-ops of that node.
ir::Graph fuse_activations(const ir::Graph& graph, const ops::InferOptions& options,
                           PassReport& report);

// Nodes none of whose outputs are read or are graph outputs, and initializers nothing
// reads, are removed.
ir::Graph remove_dead_nodes(const ir::Graph& graph, PassReport& report);

struct Optimized {
  ir::Graph graph;
  std::vector<PassReport> passes;  // in the order run
};

// All of the above in order: fold_constants, remove_identities, fuse_layer_norm, fuse_gelu,
// fuse_hard_swish, fuse_attention, fold_batch_norm, pool_before_concat, split_conv_over_concat,
// fuse_residual_add, fuse_activations, pool_spatial_means, fuse_squeeze_excite,
// remove_dead_nodes.
// `keep_attention`: fuse_attention and split_conv_over_concat are skipped (reported with no
// change), so that an emulating backend still runs attention's two MatMuls, and each
// convolution's whole accumulation, in its number formats. `squeeze_excite` false:
// fuse_squeeze_excite is skipped likewise (the Session's choice: runtime/plan.cpp).
Optimized optimize(const ir::Graph& graph, const ops::InferOptions& options,
                   bool keep_attention = false, bool squeeze_excite = true);

}  // namespace frugal::passes
