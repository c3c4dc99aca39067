// Layers of a graph for the accelerator model (see layer.h).
#include "frugal/accel/layer.h"

#include <cmath>
#include <functional>

#include "frugal/core/error.h"
#include "frugal/ops/conv_geometry.h"
#include "frugal/ops/infer.h"

namespace frugal::accel {
namespace {

// M,C,R,S,G | N,C,P,Q,R,S,G | N,M,P,Q,G
constexpr bool kRelevant[kOperands][kDims] = {
    {false, true, true, false, false, true, true, true},
    {true, false, true, true, true, true, true, true},
    {true, true, false, true, true, false, false, true},
};

// Zero statistics of a weight read as rows x cols through `at(row, col)`.
WeightStats weight_stats(int64_t rows, int64_t cols,
                         const std::function<float(int64_t, int64_t)>& at) {
  WeightStats w;
  w.rows = rows;
  w.cols = cols;
  w.params = rows * cols;
  for (int64_t r = 0; r < rows; ++r) {
    int64_t run = 0;
    for (int64_t c = 0; c < cols; ++c) {
      if (at(r, c) == 0.0f) {
        ++run;
        continue;
      }
      ++w.nonzeros;
      if (run > 0) ++w.zero_runs[run];
      run = 0;
    }
  }
  return w;
}

WeightStats dense_stats(int64_t rows, int64_t cols) {
  WeightStats w;
  w.rows = rows;
  w.cols = cols;
  w.params = w.nonzeros = rows * cols;
  return w;
}

const Shape& shape_of(const ops::GraphInfo& info, const std::string& value) {
  const auto& ti = info.at(value);
  if (!ti.shape) throw UnsupportedError("accel: value '" + value + "' has a run-time shape");
  return *ti.shape;
}

// Conv: X [N, Cin, (D,) H, W], W [M, Cin/G, (kD,) kH, kW].
bool conv_layer(const ir::Graph& g, const ir::Node& n, const ops::GraphInfo& info, Layer& l,
                std::string& why) {
  const Shape& x = shape_of(info, n.inputs[0]);
  const Shape& w = shape_of(info, n.inputs[1]);
  const int64_t groups = n.attr_int("group", 1);
  const std::vector<int64_t> in(x.begin() + 2, x.end()), kernel(w.begin() + 2, w.end());
  const ops::WindowGeometry g3 = ops::as_3d(n, ops::sliding_window(n, in, kernel, false));
  if (g3.kernel[0] != 1 || g3.out[0] != 1) {
    why = "3-D convolutions are not modeled";
    return false;
  }
  Dims& b = l.shape.bounds;
  b = {x[0], w[0] / groups, w[1], g3.out[1], g3.out[2], g3.kernel[1], g3.kernel[2], groups};
  l.shape.stride_h = g3.strides[1];
  l.shape.stride_w = g3.strides[2];
  l.shape.dilation_h = g3.dilations[1];
  l.shape.dilation_w = g3.dilations[2];
  const int64_t rows = w[0], cols = w[1] * g3.kernel[1] * g3.kernel[2];
  const Tensor* t = g.initializer(n.inputs[1]);
  if (t && t->dtype() == DType::kF32) {
    const float* d = t->data<float>();
    l.weights = weight_stats(rows, cols, [&](int64_t r, int64_t c) { return d[r * cols + c]; });
  } else {
    l.weights = dense_stats(rows, cols);
  }
  return true;
}

// Gemm: Y = op(A) op(B), A [rows x K], B [K x out] (transB: [out x K]).
bool gemm_layer(const ir::Graph& g, const ir::Node& n, const ops::GraphInfo& info, Layer& l) {
  const Shape& a = shape_of(info, n.inputs[0]);
  const Shape& bshape = shape_of(info, n.inputs[1]);
  const bool ta = n.attr_int("transA", 0) != 0, tb = n.attr_int("transB", 0) != 0;
  const int64_t rows = ta ? a[1] : a[0], k = ta ? a[0] : a[1], out = tb ? bshape[0] : bshape[1];
  l.shape.bounds = {rows, out, k, 1, 1, 1, 1, 1};
  const Tensor* t = g.initializer(n.inputs[1]);
  if (t && t->dtype() == DType::kF32) {
    const float* d = t->data<float>();
    l.weights = weight_stats(
        out, k, [&](int64_t r, int64_t c) { return tb ? d[r * k + c] : d[c * out + r]; });
  } else {
    l.weights = dense_stats(out, k);
  }
  return true;
}

// MatMul: A [..., rows, K] x B [..., K, out]; a 2-D B is a weight shared by every row.
bool matmul_layer(const ir::Graph& g, const ir::Node& n, const ops::GraphInfo& info, Layer& l,
                  std::string& why) {
  const Shape& a = shape_of(info, n.inputs[0]);
  const Shape& bshape = shape_of(info, n.inputs[1]);
  const Shape& y = shape_of(info, n.outputs[0]);
  if (a.size() < 2 || bshape.size() < 2) {
    why = "1-D MatMul operands are not modeled";
    return false;
  }
  const int64_t k = a.back(), out = bshape.back();
  int64_t batch = 1;
  for (size_t i = 0; i + 2 < y.size(); ++i) batch *= y[i];
  const int64_t rows = a[a.size() - 2];
  if (bshape.size() == 2) {
    l.shape.bounds = {batch * rows, out, k, 1, 1, 1, 1, 1};
  } else {
    l.shape.bounds = {rows, out, k, 1, 1, 1, 1, batch};
  }
  const Tensor* t = g.initializer(n.inputs[1]);
  if (t && t->dtype() == DType::kF32 && bshape.size() == 2) {
    const float* d = t->data<float>();
    l.weights = weight_stats(out, k, [&](int64_t r, int64_t c) { return d[c * out + r]; });
  } else {
    l.weights = dense_stats(out * l.shape.bounds[kG], k);
  }
  return true;
}

}  // namespace

const char* dim_name(int dim) {
  static const char* const names[] = {"N", "M", "C", "P", "Q", "R", "S", "G"};
  return names[dim];
}

bool relevant(int operand, int dim) {
  return kRelevant[operand][dim];
}

int64_t LayerShape::macs() const {
  int64_t m = 1;
  for (int64_t b : bounds) m *= b;
  return m;
}

double LayerShape::footprint(int operand, const Dims& t) const {
  switch (operand) {
    case kWeights:
      return double(t[kM]) * t[kC] * t[kR] * t[kS] * t[kG];
    case kPsums:
      return double(t[kN]) * t[kM] * t[kP] * t[kQ] * t[kG];
    default: {
      const double h = double(t[kP] - 1) * stride_h + double(t[kR] - 1) * dilation_h + 1;
      const double w = double(t[kQ] - 1) * stride_w + double(t[kS] - 1) * dilation_w + 1;
      return double(t[kN]) * t[kC] * t[kG] * h * w;
    }
  }
}

double WeightStats::storage_bits(SparseStorage storage, double value_bits, int index_bits) const {
  switch (storage) {
    case SparseStorage::kDense:
      return double(params) * value_bits;
    case SparseStorage::kBitmap:
      return double(params) + double(nonzeros) * value_bits;
    case SparseStorage::kCsr: {
      const double span = std::ldexp(1.0, index_bits);
      double entries = double(nonzeros);
      for (const auto& [run, count] : zero_runs) entries += std::floor(run / span) * count;
      const double ptr_bits = std::ceil(std::log2(entries + 1));
      return entries * (value_bits + index_bits) + double(rows + 1) * std::max(1.0, ptr_bits);
    }
  }
  return double(params) * value_bits;
}

LayerSet extract_layers(const ir::Graph& graph, int64_t batch) {
  ops::InferOptions opt;
  opt.batch = batch;
  const ops::GraphInfo info = ops::infer_graph(graph, opt);
  ops::require_supported(graph, info, "accel");
  LayerSet set;
  for (size_t k = 0; k < graph.nodes.size(); ++k) {
    const ir::Node& n = graph.nodes[k];
    if (n.op_type != "Conv" && n.op_type != "Gemm" && n.op_type != "MatMul") continue;
    if (info.nodes[k].state == ops::NodeStatus::State::kFolded) continue;
    Layer l;
    l.node = n.name.empty() ? n.outputs[0] : n.name;
    l.op = n.op_type;
    std::string why;
    const bool ok = n.op_type == "Conv"   ? conv_layer(graph, n, info, l, why)
                    : n.op_type == "Gemm" ? gemm_layer(graph, n, info, l)
                                          : matmul_layer(graph, n, info, l, why);
    if (ok)
      set.layers.push_back(std::move(l));
    else
      set.skipped.push_back(l.node + " (" + n.op_type + "): " + why);
  }
  return set;
}

}  // namespace frugal::accel
