// Binary and ternary weights: each Conv/Gemm/MatMul weight row (an output channel, the
// rows x cols view of compress/prune.h) becomes alpha_r * S_r with S in {-1, +1} (binary,
// XNOR-Net: Rastegari et al., ECCV 2016, sec. 3.1: S = sign(W), alpha = mean |W| of the row,
// the least-squares optimum) or S in {-1, 0, +1} (ternary, TWN: Li, Zhang and Liu, "Ternary
// Weight Networks", 2016, eq. 10-11: threshold delta = 0.7 * mean |W|, alpha = mean |W| over
// |W| > delta; here per output channel, as for binary).
//
// ONNX representation (any runtime runs it): the layer keeps S as its float32 weight, with
// only the values -1, (0,) +1, and no bias; a Mul by alpha (per output channel) and an Add
// of the bias follow it. The encoder (compress/weight_encoding.h) stores S as a 2- or
// 3-entry codebook, i.e. 1 bit per weight (binary) or less than 2 (ternary, with zeros),
// and alpha as float32. A backend may recognize a weight whose values are only -1/0/+1 and
// run it without multiplications. docs/compression.md ("Binary and ternary weights").
//
// `:acts` binarizes the activations too (XNOR-Net's fully binary layers): each binarized
// Conv/Gemm reads beta * sign(x), beta = mean |x| of the sample (Abs, ReduceMean, Sign,
// Mul before the layer, in plain ONNX). `:packed` (with `:acts`) writes instead the
// bit-packed frugal.BinaryConv / frugal.BinaryGemm of ops/binary_layer.h (weight bits as
// uint64, alpha, bias), which frugal's XNOR/AND-popcount kernels run; other runtimes do
// not know that domain. MatMul layers stay signs x alpha with float activations.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "frugal/ir/graph.h"

namespace frugal::compress {

// --binarize binary|ternary[:all][:acts[:packed]]: first and last layer stay float unless
// `:all`.
struct BinarizeSpec {
  bool ternary = false;
  bool all = false;
  bool acts = false;                 // binary activations (Conv and Gemm layers)
  bool packed = false;               // frugal.Binary* nodes (needs acts)
  std::vector<std::string> exclude;  // names, globs, first, last (compress/prune.h)
  std::string str() const;
};
// UserError "--binarize 'TEXT': reason".
BinarizeSpec parse_binarize_spec(const std::string& text, const std::string& origin = "--binarize");

// One row's signs and scale: S (values -1, 0, +1) and alpha >= 0.
struct BinaryRow {
  std::vector<float> signs;
  float alpha = 0;
};
BinaryRow binarize_row(const float* w, int64_t n, bool ternary);

struct LayerBinarized {
  std::string name, op_type;
  int64_t rows = 0, cols = 0;
  int64_t zeros = 0;     // ternary: weights set to 0
  bool acts = false;     // its input is binarized too
  bool packed = false;   // written as frugal.BinaryConv / BinaryGemm
  double rel_error = 0;  // ||W - alpha S||_F / ||W||_F
};

struct BinarizeResult {
  BinarizeSpec spec;
  ir::Graph graph;
  std::vector<LayerBinarized> layers;
  std::vector<std::string> notes;  // layers left alone and why
};

// Binarizes the layers `spec` selects in `graph` (not modified). Appends {"binarize": SPEC,
// "layers": [...]} to the "frugal.compress" metadata.
BinarizeResult binarize(const ir::Graph& graph, const BinarizeSpec& spec);

nlohmann::json to_json(const BinarizeResult& result);

}  // namespace frugal::compress
