// The layers an accelerator model prices: Conv, Gemm and MatMul of an IR graph as one loop
// nest over seven dimensions plus groups (N batch, M output channels, C input channels, P x Q
// output pixels, R x S filter taps, G groups), with the statistics of their weights' zeros.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "frugal/accel/arch.h"
#include "frugal/ir/graph.h"

namespace frugal::accel {

enum Dim { kN = 0, kM, kC, kP, kQ, kR, kS, kG };
constexpr int kDims = 8;
using Dims = std::array<int64_t, kDims>;
const char* dim_name(int dim);  // "N", "M", ...

// Does `operand`'s footprint change with dimension `dim`? (Weights: M C R S G; inputs:
// N C P Q R S G; psums: N M P Q G.)
bool relevant(int operand, int dim);

struct LayerShape {
  Dims bounds{1, 1, 1, 1, 1, 1, 1, 1};
  int64_t stride_h = 1, stride_w = 1, dilation_h = 1, dilation_w = 1;

  int64_t macs() const;
  // Words of `operand` touched by a tile of `tile` iterations per dimension (inputs: the
  // sliding-window halo (P-1)*stride + (R-1)*dilation + 1 per spatial axis).
  double footprint(int operand, const Dims& tile) const;
};

// Zeros of a constant weight seen as a matrix: one row per output channel (M x G), one
// column per reduction index (C x R x S).
struct WeightStats {
  int64_t rows = 0, cols = 0, params = 0, nonzeros = 0;
  std::map<int64_t, int64_t> zero_runs;  // length of the zero run before a non-zero -> count

  double density() const { return params ? static_cast<double>(nonzeros) / params : 1.0; }
  // Storage bits of the weights with `value_bits` per value: dense, CSR with relative
  // indices of `index_bits` (a run of z zeros costs floor(z / 2^b) padding entries, as in
  // EIE) plus a row pointer per row, or a bitmap (one bit per entry) plus the values.
  double storage_bits(SparseStorage storage, double value_bits, int index_bits) const;
};

struct Layer {
  std::string node;
  std::string op;
  LayerShape shape;
  WeightStats weights;
};

struct LayerSet {
  std::vector<Layer> layers;
  std::vector<std::string> skipped;  // "node (op): why" for compute nodes not modeled
};

// Every Conv, Gemm and MatMul of the graph with the batch given (shapes from
// ops::infer_graph). Other operators are not priced (they move data the model does not see).
LayerSet extract_layers(const ir::Graph& graph, int64_t batch);

}  // namespace frugal::accel
