// int4 weight-only and dynamic int8 quantization (quantize.h describes the exported forms).
#include <algorithm>
#include <cmath>

#include "frugal/compress/quantize.h"
#include "frugal/core/error.h"

namespace frugal::compress::detail {
namespace {

constexpr int kInt4Max = 7;  // symmetric grid -7..7 (-8 unused, as int8 leaves -128 unused)

// The weight as rows (output channels) x reduction elements, row-major.
struct RowView {
  int64_t rows = 0, length = 0;
  bool transposed = false;  // element (r, k) is w[k, r] (weight [K, N])
  float at(const float* w, int64_t r, int64_t k) const {
    return transposed ? w[k * rows + r] : w[r * length + k];
  }
};

RowView row_view(const Tensor& w, const WeightSite& s) {
  RowView v;
  if (s.reduction_rows) {
    v.rows = w.dim(0);
    v.length = w.numel() / std::max<int64_t>(v.rows, 1);
  } else {
    v.rows = w.dim(1);
    v.length = w.dim(0);
    v.transposed = true;
  }
  return v;
}

struct Int4Weight {
  RowView view;
  int64_t groups = 0, group = 0;
  std::vector<int8_t> q;      // rows x groups*group (padding zero)
  std::vector<float> scales;  // rows x groups
};

Int4Weight int4_quantize(const Tensor& w, const WeightSite& s, int64_t group) {
  Int4Weight r;
  r.view = row_view(w, s);
  r.group = group;
  r.groups = (r.view.length + group - 1) / group;
  const int64_t padded = r.groups * group;
  r.q.assign(static_cast<size_t>(r.view.rows * padded), 0);
  r.scales.assign(static_cast<size_t>(r.view.rows * r.groups), 1.0f);
  const float* p = w.data<float>();
  for (int64_t row = 0; row < r.view.rows; ++row)
    for (int64_t gi = 0; gi < r.groups; ++gi) {
      const int64_t k0 = gi * group, k1 = std::min(k0 + group, r.view.length);
      float peak = 0;
      for (int64_t k = k0; k < k1; ++k) {
        const float v = r.view.at(p, row, k);
        if (std::isfinite(v)) peak = std::max(peak, std::fabs(v));
      }
      const float scale = peak > 0 ? peak / kInt4Max : 1.0f;
      r.scales[static_cast<size_t>(row * r.groups + gi)] = scale;
      for (int64_t k = k0; k < k1; ++k) {
        const float v = r.view.at(p, row, k);
        r.q[static_cast<size_t>(row * padded + k)] = static_cast<int8_t>(
            std::isfinite(v) ? std::clamp(std::nearbyint(v / scale), -7.0f, 7.0f) : 0.0f);
      }
    }
  return r;
}

ir::Node make_node(const ir::Graph& g, const std::string& name, const std::string& op,
                   std::vector<std::string> inputs, std::vector<std::string> outputs) {
  ir::Node n;
  n.name = g.unique_name(name);
  n.op_type = op;
  n.inputs = std::move(inputs);
  n.outputs = std::move(outputs);
  return n;
}

// A fresh name reserved by adding an (empty) placeholder initializer until replaced.
std::string fresh(ir::Graph& g, const std::string& prefix, Tensor value) {
  const std::string name = g.unique_name(prefix);
  g.initializers[name] = std::move(value);
  return name;
}

}  // namespace

Tensor int4_fake_quant(const Tensor& w, const WeightSite& s, int64_t group) {
  const Int4Weight q = int4_quantize(w, s, group);
  Tensor out(DType::kF32, w.shape());
  float* d = out.data<float>();
  const int64_t padded = q.groups * q.group;
  for (int64_t row = 0; row < q.view.rows; ++row)
    for (int64_t k = 0; k < q.view.length; ++k) {
      const float v = q.scales[static_cast<size_t>(row * q.groups + k / q.group)] *
                      static_cast<float>(q.q[static_cast<size_t>(row * padded + k)]);
      if (q.view.transposed)
        d[k * q.view.rows + row] = v;
      else
        d[row * q.view.length + k] = v;
    }
  return out;
}

ir::Graph quantize_int4_weights(const ir::Graph& prepared, const QuantSpec& spec,
                                QuantResult& result) {
  ir::Graph g = prepared;
  if (g.opset("") < 13)
    throw UserError("quantize: int4 export uses per-axis DequantizeLinear (opset 13); the model "
                    "has opset " + std::to_string(g.opset("")));
  std::map<std::string, int64_t> readers;
  for (const auto& n : prepared.nodes)
    for (const auto& i : n.inputs)
      if (!i.empty()) ++readers[i];
  const size_t count = g.nodes.size();
  for (size_t i = 0; i < count; ++i) {
    const ir::Node node = g.nodes[i];
    std::string why;
    auto s = weight_site(g, node, why);
    LayerQuant lq;
    lq.node = node.name;
    lq.op_type = node.op_type;
    if (!s) {
      if (node.op_type == "Conv" || node.op_type == "Gemm" || node.op_type == "MatMul") {
        lq.precision = "fp32 (" + why + ")";
        result.layers.push_back(lq);
      }
      continue;
    }
    const Tensor& w = *prepared.initializer(s->weight);
    const Int4Weight q = int4_quantize(w, *s, spec.group);
    const int64_t rows = q.view.rows, padded = q.groups * q.group;
    lq.precision = "int4 w (group " + std::to_string(spec.group) + "), fp32 a";
    lq.weight_bytes_before = w.numel() * 4;
    lq.weight_bytes_after = (rows * padded + 1) / 2 + rows * q.groups * 4;
    result.weight_bytes_before += lq.weight_bytes_before;
    result.weight_bytes_after += lq.weight_bytes_after;
    result.layers.push_back(lq);

    const std::string base = node.name + "_weight";
    const std::string qn =
        fresh(g, base + "_int4", Tensor::from_vector<int8_t>({rows * q.groups, q.group}, q.q));
    const std::string sn =
        fresh(g, base + "_scale", Tensor::from_vector<float>({rows * q.groups}, q.scales));
    const std::string zn = fresh(g, base + "_zero_point",
                                 Tensor::from_vector<int8_t>({rows * q.groups},
                                                             std::vector<int8_t>(q.scales.size(), 0)));
    std::vector<ir::Node> chain;
    std::string v = g.unique_name(base + "_groups");
    ir::Node dq = make_node(g, base + "_DequantizeLinear", "DequantizeLinear", {qn, sn, zn}, {v});
    dq.attrs["axis"] = ir::Attribute{int64_t{0}};
    g.nodes.push_back(dq);
    const std::string rshape = fresh(g, base + "_rows_shape", Tensor::from_vector<int64_t>({2}, {rows, padded}));
    std::string next = g.unique_name(base + "_rows");
    g.nodes.push_back(make_node(g, base + "_Reshape_rows", "Reshape", {v, rshape}, {next}));
    v = next;
    if (padded != q.view.length) {
      const std::string st = fresh(g, base + "_slice_starts", Tensor::from_vector<int64_t>({1}, {0}));
      const std::string en =
          fresh(g, base + "_slice_ends", Tensor::from_vector<int64_t>({1}, {q.view.length}));
      const std::string ax = fresh(g, base + "_slice_axes", Tensor::from_vector<int64_t>({1}, {1}));
      next = g.unique_name(base + "_unpadded");
      g.nodes.push_back(make_node(g, base + "_Slice", "Slice", {v, st, en, ax}, {next}));
      v = next;
    }
    next = g.unique_name(base + "_dequantized");
    if (q.view.transposed) {
      ir::Node t = make_node(g, base + "_Transpose", "Transpose", {v}, {next});
      t.attrs["perm"] = ir::Attribute{std::vector<int64_t>{1, 0}};
      g.nodes.push_back(t);
    } else {
      const std::string ws = fresh(g, base + "_shape", Tensor::from_vector<int64_t>(
                                                          {static_cast<int64_t>(w.rank())}, w.shape()));
      g.nodes.push_back(make_node(g, base + "_Reshape", "Reshape", {v, ws}, {next}));
    }
    g.nodes[i].inputs[1] = next;
    if (--readers[s->weight] == 0) g.initializers.erase(s->weight);
  }
  g.value_info.clear();
  g.validate_and_sort();
  return g;
}

ir::Graph quantize_dynamic(const ir::Graph& prepared, const QuantSpec& spec, QuantResult& result) {
  ir::Graph g = prepared;
  if (g.opset("") < 11)
    throw UserError("quantize: dynamic int8 needs opset 11 (DynamicQuantizeLinear); the model "
                    "has opset " + std::to_string(g.opset("")));
  std::map<std::string, int64_t> readers;
  for (const auto& n : prepared.nodes)
    for (const auto& i : n.inputs)
      if (!i.empty()) ++readers[i];
  std::vector<ir::Node> kept;
  std::vector<ir::Node> added;
  for (const ir::Node& node : prepared.nodes) {
    LayerQuant lq;
    lq.node = node.name;
    lq.op_type = node.op_type;
    std::string why;
    auto s = weight_site(g, node, why);
    if (s && node.op_type == "Conv") {
      why = "dynamic quantization covers Gemm/MatMul only";
      s.reset();
    }
    if (s && node.op_type == "Gemm" &&
        (node.attr_float("alpha", 1.0f) != 1.0f ||
         (node.has_input(2) && node.attr_float("beta", 1.0f) != 1.0f))) {
      why = "alpha or beta not 1";
      s.reset();
    }
    const Tensor* bias = node.op_type == "Gemm" && node.has_input(2) ? g.initializer(node.inputs[2]) : nullptr;
    if (s && node.op_type == "Gemm" && node.has_input(2) && !(bias && bias->rank() <= 1)) {
      why = "bias C is not a constant vector";
      s.reset();
    }
    if (!s) {
      if (node.op_type == "Conv" || node.op_type == "Gemm" || node.op_type == "MatMul") {
        lq.precision = "fp32 (" + why + ")";
        result.layers.push_back(lq);
      }
      kept.push_back(node);
      continue;
    }
    const Tensor& w = *prepared.initializer(s->weight);
    // The weight as [K, N] (MatMulInteger's B), quantized per column (or per tensor).
    Tensor wkn = w;
    if (s->reduction_rows) {  // Gemm transB: [N, K]
      const int64_t n = w.dim(0), k = w.dim(1);
      wkn = Tensor(DType::kF32, {k, n});
      const float* src = w.data<float>();
      float* dst = wkn.data<float>();
      for (int64_t r = 0; r < n; ++r)
        for (int64_t c = 0; c < k; ++c) dst[c * n + r] = src[r * k + c];
    }
    const int64_t n_out = wkn.dim(1);
    const WeightQuant wq = quantize_weight(wkn, spec.per_channel ? 1 : -1);
    lq.precision = std::string("int8 dynamic (") + (spec.per_channel ? "per-column" : "per-tensor") + ")";
    lq.weight_bytes_before = w.numel() * 4;
    lq.weight_bytes_after = w.numel() + static_cast<int64_t>(wq.scales.size()) * 4;
    result.weight_bytes_before += lq.weight_bytes_before;
    result.weight_bytes_after += lq.weight_bytes_after;
    result.layers.push_back(lq);

    const std::string base = node.name;
    const std::string x = node.inputs[0];
    const std::string xq = g.unique_name(base + "_x_quantized");
    const std::string xs = g.unique_name(base + "_x_scale");
    const std::string xz = g.unique_name(base + "_x_zero_point");
    added.push_back(make_node(g, base + "_DynamicQuantizeLinear", "DynamicQuantizeLinear", {x}, {xq, xs, xz}));
    g.nodes.push_back(added.back());  // reserve names
    const std::string wn = fresh(g, base + "_weight_quantized", wq.q);
    const std::string acc = g.unique_name(base + "_acc");
    added.push_back(make_node(g, base + "_MatMulInteger", "MatMulInteger", {xq, wn, xz}, {acc}));
    g.nodes.push_back(added.back());
    const std::string accf = g.unique_name(base + "_acc_float");
    ir::Node cast = make_node(g, base + "_Cast", "Cast", {acc}, {accf});
    cast.attrs["to"] = ir::Attribute{int64_t{1}};  // FLOAT
    added.push_back(cast);
    g.nodes.push_back(cast);
    const std::string ws = fresh(g, base + "_weight_scale",
                                 Tensor::from_vector<float>(spec.per_channel ? Shape{n_out} : Shape{},
                                                            wq.scales));
    const std::string sc = g.unique_name(base + "_scale");
    added.push_back(make_node(g, base + "_Mul_scales", "Mul", {xs, ws}, {sc}));
    g.nodes.push_back(added.back());
    const std::string y = node.outputs[0];
    const bool has_bias = node.op_type == "Gemm" && node.has_input(2);
    const std::string scaled = has_bias ? g.unique_name(base + "_scaled") : y;
    added.push_back(make_node(g, base + "_Mul", "Mul", {accf, sc}, {scaled}));
    g.nodes.push_back(added.back());
    if (has_bias) {
      added.push_back(make_node(g, base + "_Add_bias", "Add", {scaled, node.inputs[2]}, {y}));
      g.nodes.push_back(added.back());
    }
    if (--readers[s->weight] == 0) g.initializers.erase(s->weight);
  }
  g.nodes = kept;
  g.nodes.insert(g.nodes.end(), added.begin(), added.end());
  g.value_info.clear();
  g.validate_and_sort();
  return g;
}

}  // namespace frugal::compress::detail
