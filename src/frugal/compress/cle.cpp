#include "frugal/compress/cle.h"

#include <algorithm>
#include <cmath>
#include <sstream>

#include "frugal/core/error.h"
#include "frugal/ir/subgraph.h"

namespace frugal::compress {
namespace {

// How a layer's weight maps channels: output channel c is a set of elements, input channel
// c another. Conv [O, C/g, k...]; Gemm transB [N, K] or [K, N].
struct Layer {
  size_t node = 0;
  std::string weight, bias;  // bias empty when none
  bool conv = false, trans_b = false;
  int64_t group = 1;
};

bool layer_of(const ir::Graph& g, size_t i, Layer& l) {
  const ir::Node& n = g.nodes[i];
  if (!n.domain.empty() && n.domain != "ai.onnx") return false;
  if (n.op_type != "Conv" && n.op_type != "Gemm") return false;
  if (n.has_attr("frugal.post_ops") || !n.has_input(1)) return false;
  const Tensor* w = g.initializer(n.inputs[1]);
  if (!w || w->dtype() != DType::kF32) return false;
  l = Layer{};
  l.node = i;
  l.weight = n.inputs[1];
  l.conv = n.op_type == "Conv";
  if (l.conv) {
    if (w->rank() < 3) return false;
    l.group = n.attr_int("group", 1);
  } else {
    if (w->rank() != 2 || n.attr_int("transA", 0) != 0 || n.attr_float("alpha", 1.0f) != 1.0f)
      return false;
    l.trans_b = n.attr_int("transB", 0) != 0;
  }
  if (n.has_input(2)) {
    const Tensor* b = g.initializer(n.inputs[2]);
    if (!b || b->dtype() != DType::kF32 || b->rank() != 1) return false;
    if (!l.conv && n.attr_float("beta", 1.0f) != 1.0f) return false;
    l.bias = n.inputs[2];
  }
  return true;
}

int64_t out_channels(const Tensor& w, const Layer& l) {
  return l.conv || l.trans_b ? w.dim(0) : w.dim(1);
}
int64_t in_channels(const Tensor& w, const Layer& l) {
  if (l.conv) return w.dim(1) * l.group;
  return l.trans_b ? w.dim(1) : w.dim(0);
}

// Calls f(element index) for every weight element of output channel c.
template <typename F>
void for_out_channel(const Tensor& w, const Layer& l, int64_t c, F f) {
  if (l.conv || l.trans_b) {
    const int64_t len = w.numel() / w.dim(0);
    for (int64_t i = 0; i < len; ++i) f(c * len + i);
  } else {
    const int64_t n = w.dim(1);
    for (int64_t k = 0; k < w.dim(0); ++k) f(k * n + c);
  }
}

// Calls f(element index) for every weight element reading input channel c.
template <typename F>
void for_in_channel(const Tensor& w, const Layer& l, int64_t c, F f) {
  if (l.conv) {
    const int64_t o = w.dim(0), cg = w.dim(1), spatial = w.numel() / (o * cg);
    const int64_t og = o / l.group, grp = c / cg, ci = c % cg;
    for (int64_t oc = grp * og; oc < (grp + 1) * og; ++oc)
      for (int64_t s = 0; s < spatial; ++s) f((oc * cg + ci) * spatial + s);
  } else if (l.trans_b) {
    const int64_t n = w.dim(0), k = w.dim(1);
    for (int64_t r = 0; r < n; ++r) f(r * k + c);
  } else {
    const int64_t n = w.dim(1);
    for (int64_t j = 0; j < n; ++j) f(c * n + j);
  }
}

bool positively_homogeneous(const ir::Node& n) {
  return n.op_type == "Relu" || n.op_type == "LeakyRelu" || n.op_type == "MaxPool" ||
         n.op_type == "AveragePool" || n.op_type == "GlobalAveragePool" ||
         n.op_type == "GlobalMaxPool";
}

// A Clip(x, 0, M) with constant bounds: its M, or a negative number.
float relu_cap(const ir::Graph& g, const ir::Node& n) {
  if (n.op_type != "Clip") return -1;
  float lo = n.attr_float("min", -INFINITY), hi = n.attr_float("max", INFINITY);
  if (n.has_input(1)) {
    const Tensor* t = g.initializer(n.inputs[1]);
    if (!t || t->numel() != 1 || t->dtype() != DType::kF32) return -1;
    lo = t->data<float>()[0];
  }
  if (n.has_input(2)) {
    const Tensor* t = g.initializer(n.inputs[2]);
    if (!t || t->numel() != 1 || t->dtype() != DType::kF32) return -1;
    hi = t->data<float>()[0];
  }
  return lo == 0.0f && std::isfinite(hi) && hi > 0 ? hi : -1;
}

// A Min(x, cap) whose cap is a constant broadcast per channel ([C,1,..] or a scalar).
bool is_cap(const ir::Graph& g, const ir::Node& n, int64_t channels) {
  if (n.op_type != "Min" || n.inputs.size() != 2) return false;
  const Tensor* t = g.initializer(n.inputs[1]);
  return t && t->dtype() == DType::kF32 && (t->numel() == 1 || t->dim(0) == channels);
}

}  // namespace

ir::Graph equalize_cross_layer(const ir::Graph& graph, std::vector<std::string>& notes,
                               int iterations) {
  ir::Graph g = graph;
  std::map<std::string, int64_t> readers;
  for (const auto& n : g.nodes)
    for (const auto& i : n.inputs)
      if (!i.empty()) ++readers[i];
  std::vector<std::string> pairs_seen;
  for (int it = 0; it < iterations; ++it) {
    for (size_t a = 0; a < g.nodes.size(); ++a) {
      Layer la;
      if (!layer_of(g, a, la) || readers[la.weight] != 1 ||
          (!la.bias.empty() && readers[la.bias] != 1))
        continue;
      const int64_t channels = out_channels(*g.initializer(la.weight), la);
      // Walk the positively homogeneous chain to the next layer.
      std::vector<size_t> middle;
      std::string v = g.nodes[a].outputs[0];
      int64_t b = ir::sole_reader(g, v, ir::GraphOutputs::kCount, ir::DoubleRead::kTwoReaders);
      while (b >= 0) {
        const ir::Node& m = g.nodes[static_cast<size_t>(b)];
        if (!(positively_homogeneous(m) || relu_cap(g, m) > 0 || is_cap(g, m, channels)) ||
            m.inputs[0] != v)
          break;
        middle.push_back(static_cast<size_t>(b));
        v = m.outputs[0];
        b = ir::sole_reader(g, v, ir::GraphOutputs::kCount, ir::DoubleRead::kTwoReaders);
      }
      Layer lb;
      if (b < 0 || !layer_of(g, static_cast<size_t>(b), lb) ||
          g.nodes[static_cast<size_t>(b)].inputs[0] != v || readers[lb.weight] != 1 ||
          lb.weight == la.weight)
        continue;
      // Tensors share storage when a graph is copied: write to fresh copies.
      Tensor& w1 = g.initializers[la.weight];
      Tensor& w2 = g.initializers[lb.weight];
      w1 = w1.clone();
      w2 = w2.clone();
      if (in_channels(w2, lb) != channels) continue;  // a Flatten or reshape in between
      std::vector<float> s(static_cast<size_t>(channels), 1.0f);
      float* p1 = w1.data<float>();
      float* p2 = w2.data<float>();
      double spread_before = 0, spread_after = 0;
      for (int64_t c = 0; c < channels; ++c) {
        float r1 = 0, r2 = 0;
        for_out_channel(w1, la, c, [&](int64_t i) { r1 = std::max(r1, std::fabs(p1[i])); });
        for_in_channel(w2, lb, c, [&](int64_t i) { r2 = std::max(r2, std::fabs(p2[i])); });
        if (r1 > 0 && r2 > 0 && std::isfinite(r1) && std::isfinite(r2)) {
          s[static_cast<size_t>(c)] = std::sqrt(r1 / r2);
          spread_before =
              std::max(spread_before, static_cast<double>(std::fabs(std::log(r1 / r2))));
        }
      }
      bool changed = false;
      for (float x : s) changed = changed || std::fabs(x - 1.0f) > 1e-3f;
      if (!changed) continue;
      for (int64_t c = 0; c < channels; ++c) {
        const float sc = s[static_cast<size_t>(c)];
        for_out_channel(w1, la, c, [&](int64_t i) { p1[i] /= sc; });
        for_in_channel(w2, lb, c, [&](int64_t i) { p2[i] *= sc; });
      }
      if (!la.bias.empty()) {
        g.initializers[la.bias] = g.initializers[la.bias].clone();
        float* pb = g.initializers[la.bias].data<float>();
        for (int64_t c = 0; c < channels; ++c) pb[c] /= s[static_cast<size_t>(c)];
      }
      (void)spread_after;
      // Per-channel caps: Clip(0, M) becomes Relu then Min(cap_c = M / s_c); a Min's cap
      // is divided by s_c. The channel axis is 1 for Conv outputs, last for Gemm.
      for (size_t mi : middle) {
        ir::Node& m = g.nodes[mi];
        float cap_scalar = relu_cap(g, m);
        const bool was_clip = cap_scalar > 0;
        std::vector<float> cap(static_cast<size_t>(channels));
        if (was_clip) {
          std::fill(cap.begin(), cap.end(), cap_scalar);
        } else if (m.op_type == "Min") {
          const Tensor& t = *g.initializer(m.inputs[1]);
          for (int64_t c = 0; c < channels; ++c)
            cap[static_cast<size_t>(c)] = t.data<float>()[t.numel() == 1 ? 0 : c];
        } else {
          continue;
        }
        for (int64_t c = 0; c < channels; ++c)
          cap[static_cast<size_t>(c)] /= s[static_cast<size_t>(c)];
        Shape cshape = la.conv ? Shape{channels} : Shape{channels};
        if (la.conv) {
          const int64_t spatial_rank = g.initializer(la.weight)->rank() - 2;
          for (int64_t d = 0; d < spatial_rank; ++d) cshape.push_back(1);
        }
        Tensor capt = Tensor::from_vector<float>(cshape, cap);
        if (was_clip) {
          const std::string cap_name = g.unique_name(m.name + "_cap");
          g.initializers[cap_name] = capt;
          const std::string relu_out = g.unique_name(m.name + "_relu");
          for (size_t k = 1; k < m.inputs.size(); ++k)
            if (!m.inputs[k].empty()) --readers[m.inputs[k]];
          ir::Node relu;
          relu.name = g.unique_name(m.name + "_Relu");
          relu.op_type = "Relu";
          relu.inputs = {m.inputs[0]};
          relu.outputs = {relu_out};
          m.op_type = "Min";
          m.attrs.clear();
          m.inputs = {relu_out, cap_name};
          readers[cap_name] = 1;
          g.nodes.push_back(relu);  // invalidates `m`
        } else {
          const std::string cap_name = g.nodes[mi].inputs[1];
          if (readers[cap_name] != 1) {
            const std::string fresh_cap = g.unique_name(g.nodes[mi].name + "_cap");
            g.initializers[fresh_cap] = capt;
            --readers[cap_name];
            readers[fresh_cap] = 1;
            g.nodes[mi].inputs[1] = fresh_cap;
          } else {
            g.initializers[cap_name] = capt;
          }
        }
      }
      std::ostringstream line;
      line << "cle: " << g.nodes[a].name << " -> " << g.nodes[static_cast<size_t>(b)].name << " ("
           << channels << " channels, max |log(r1/r2)| " << spread_before << ")";
      if (it == 0) notes.push_back(line.str());
    }
    g.validate_and_sort();
  }
  return g;
}

}  // namespace frugal::compress
