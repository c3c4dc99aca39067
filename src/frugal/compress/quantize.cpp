#include "frugal/compress/quantize.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <set>
#include <sstream>

#include "frugal/compress/bias_correction.h"
#include "frugal/compress/cle.h"
#include "frugal/core/error.h"
#include "frugal/core/strings.h"
#include "frugal/ir/subgraph.h"
#include "frugal/passes/passes.h"

namespace frugal::compress {
namespace {

int64_t parse_count(const std::string& text, const std::string& where) {
  if (text.empty() || text.size() > 9 || text.find_first_not_of("0123456789") != std::string::npos)
    throw UserError(where + ": '" + text + "' is not a positive integer");
  const int64_t v = std::stoll(text);
  if (v < 1) throw UserError(where + ": '" + text + "' is not a positive integer");
  return v;
}

std::map<std::string, int64_t> reader_counts(const ir::Graph& g) {
  std::map<std::string, int64_t> readers;
  for (const auto& n : g.nodes)
    for (const auto& i : n.inputs)
      if (!i.empty()) ++readers[i];
  return readers;
}

bool is_graph_output(const ir::Graph& g, const std::string& v) {
  for (const auto& o : g.outputs)
    if (o.name == v) return true;
  return false;
}

}  // namespace

QuantSpec parse_quant_spec(const std::string& text, const std::string& origin) {
  const std::string where = origin + " '" + text + "'";
  const std::vector<std::string> parts = split(text, ',');
  QuantSpec spec;
  const std::string head = parts[0];
  const std::vector<std::string> hp = split(head, ':');
  if (hp[0] == "int8") {
    if (hp.size() > 2) throw UserError(where + ": '" + head + "' has more than one ':' option");
    if (hp.size() == 2) {
      if (hp[1] == "per-channel") {
        spec.per_channel = true;
      } else if (hp[1] == "per-tensor") {
        spec.per_channel = false;
      } else if (hp[1] == "dynamic") {
        spec.kind = QuantSpec::Kind::kDynamic8;
      } else {
        throw UserError(where + ": '" + hp[1] + "' is not per-channel, per-tensor or dynamic");
      }
    }
  } else if (hp[0] == "int4") {
    spec.kind = QuantSpec::Kind::kWeightInt4;
    if (hp.size() > 2) throw UserError(where + ": '" + head + "' has more than one ':' option");
    if (hp.size() == 2) {
      if (hp[1].rfind("group=", 0) != 0)
        throw UserError(where + ": '" + hp[1] + "' is not group=G");
      spec.group = parse_count(hp[1].substr(6), where + ": group");
      if (spec.group != 32 && spec.group != 64 && spec.group != 128)
        throw UserError(where + ": group " + std::to_string(spec.group) + " is not 32, 64 or 128");
    }
  } else {
    throw UserError(
        where + ": '" + hp[0] +
        "' is not int8 or int4 (int8[:per-channel|per-tensor|"
        "dynamic][,calib=...][,samples=N][,sym|asym][,bias-correct][,cle], int4[:group=G])");
  }
  for (size_t i = 1; i < parts.size(); ++i) {
    const std::string& p = parts[i];
    const bool static8 = spec.kind == QuantSpec::Kind::kStatic8;
    auto need_static = [&] {
      if (!static8) throw UserError(where + ": '" + p + "' applies to static int8 only");
    };
    if (p.rfind("calib=", 0) == 0) {
      need_static();
      runtime::parse_calibration_method(p.substr(6), where + ": calib", spec.calib);
    } else if (p.rfind("samples=", 0) == 0) {
      spec.samples = parse_count(p.substr(8), where + ": samples");
    } else if (p == "sym" || p == "asym") {
      need_static();
      spec.symmetric = p == "sym";
    } else if (p == "bias-correct") {
      if (spec.kind == QuantSpec::Kind::kDynamic8)
        throw UserError(where + ": bias-correct applies to static int8 and int4");
      spec.bias_correct = true;
    } else if (p == "cle") {
      spec.cle = true;
    } else {
      throw UserError(where + ": unknown option '" + p +
                      "' (calib=, samples=, sym, asym, bias-correct, cle)");
    }
  }
  spec.calib.symmetric = spec.symmetric;
  return spec;
}

std::string quant_spec_name(const QuantSpec& spec) {
  std::string s;
  switch (spec.kind) {
    case QuantSpec::Kind::kStatic8:
      s = std::string("int8:") + (spec.per_channel ? "per-channel" : "per-tensor") +
          ",calib=" + runtime::calibration_method_name(spec.calib) +
          (spec.symmetric ? ",sym" : ",asym");
      break;
    case QuantSpec::Kind::kDynamic8:
      s = "int8:dynamic";
      break;
    case QuantSpec::Kind::kWeightInt4:
      s = "int4:group=" + std::to_string(spec.group);
      break;
  }
  if (spec.samples > 0) s += ",samples=" + std::to_string(spec.samples);
  if (spec.bias_correct) s += ",bias-correct";
  if (spec.cle) s += ",cle";
  return s;
}

ActivationParams activation_params(const kernels::ValueRange& range, bool symmetric) {
  const float lo = std::min(range.min, 0.0f), hi = std::max(range.max, 0.0f);
  ActivationParams p;
  if (!(hi - lo > 0.0f) || !std::isfinite(lo) || !std::isfinite(hi)) return p;
  if (symmetric) {
    p.scale = std::max(-lo, hi) / 127.0f;
    return p;
  }
  p.scale = (hi - lo) / 255.0f;
  p.zero_point = static_cast<int32_t>(std::clamp(std::nearbyint(-lo / p.scale), 0.0f, 255.0f));
  return p;
}

WeightQuant quantize_weight(const Tensor& w, int64_t axis, int qmax) {
  FRUGAL_CHECK(w.dtype() == DType::kF32, "quantize_weight: float32 weight expected");
  const detail::Layout l = detail::layout_of(w.shape(), axis);
  WeightQuant r{Tensor(DType::kI8, w.shape()),
                std::vector<float>(static_cast<size_t>(l.channels), 0.0f)};
  const float* src = w.data<float>();
  int8_t* dst = r.q.data<int8_t>();
  for (int64_t o = 0; o < l.outer; ++o)
    for (int64_t c = 0; c < l.channels; ++c) {
      float& peak = r.scales[static_cast<size_t>(c)];
      const float* p = src + (o * l.channels + c) * l.inner;
      for (int64_t i = 0; i < l.inner; ++i)
        if (std::isfinite(p[i])) peak = std::max(peak, std::fabs(p[i]));
    }
  for (float& s : r.scales) s = s > 0.0f ? s / static_cast<float>(qmax) : 1.0f;
  const float q = static_cast<float>(qmax);
  for (int64_t o = 0; o < l.outer; ++o)
    for (int64_t c = 0; c < l.channels; ++c) {
      const float s = r.scales[static_cast<size_t>(c)];
      const int64_t base = (o * l.channels + c) * l.inner;
      for (int64_t i = 0; i < l.inner; ++i) {
        const float v = src[base + i];
        dst[base + i] =
            static_cast<int8_t>(std::isfinite(v) ? std::clamp(std::nearbyint(v / s), -q, q) : 0.0f);
      }
    }
  return r;
}

Tensor dequantize_weight(const WeightQuant& wq, int64_t axis) {
  const detail::Layout l = detail::layout_of(wq.q.shape(), axis);
  Tensor w(DType::kF32, wq.q.shape());
  const int8_t* q = wq.q.data<int8_t>();
  float* d = w.data<float>();
  for (int64_t o = 0; o < l.outer; ++o)
    for (int64_t c = 0; c < l.channels; ++c) {
      const int64_t base = (o * l.channels + c) * l.inner;
      for (int64_t i = 0; i < l.inner; ++i)
        d[base + i] = wq.scales[static_cast<size_t>(c)] * static_cast<float>(q[base + i]);
    }
  return w;
}

namespace detail {

Layout layout_of(const Shape& s, int64_t axis) {
  Layout l;
  if (axis < 0) {
    for (int64_t d : s) l.inner *= d;
    return l;
  }
  for (int64_t d = 0; d < axis; ++d) l.outer *= s[static_cast<size_t>(d)];
  l.channels = s[static_cast<size_t>(axis)];
  for (size_t d = static_cast<size_t>(axis) + 1; d < s.size(); ++d) l.inner *= s[d];
  return l;
}

std::optional<WeightSite> weight_site(const ir::Graph& g, const ir::Node& n, std::string& why) {
  if (n.op_type != "Conv" && n.op_type != "Gemm" && n.op_type != "MatMul") {
    why = "not Conv/Gemm/MatMul";
    return std::nullopt;
  }
  if (!n.domain.empty() && n.domain != "ai.onnx") {
    why = "domain " + n.domain;
    return std::nullopt;
  }
  if (!n.has_input(1) || !g.initializer(n.inputs[1])) {
    why = "weight is not a constant";
    return std::nullopt;
  }
  const Tensor& w = *g.initializer(n.inputs[1]);
  if (w.dtype() != DType::kF32) {
    why = "weight is not float32";
    return std::nullopt;
  }
  if (n.has_attr("frugal.post_ops")) {
    why = "fused node";
    return std::nullopt;
  }
  WeightSite s;
  s.weight = n.inputs[1];
  if (n.op_type == "Conv") {
    if (w.rank() < 3) {
      why = "weight rank " + std::to_string(w.rank());
      return std::nullopt;
    }
    s.out_axis = 0;
    s.reduction_rows = true;
  } else if (n.op_type == "Gemm") {
    if (w.rank() != 2 || n.attr_int("transA", 0) != 0) {
      why = "transposed A or weight rank not 2";
      return std::nullopt;
    }
    const bool tb = n.attr_int("transB", 0) != 0;
    s.out_axis = tb ? 0 : 1;
    s.reduction_rows = tb;
  } else {
    if (w.rank() != 2) {
      why = "MatMul weight rank " + std::to_string(w.rank()) + " (2 expected)";
      return std::nullopt;
    }
    s.out_axis = 1;
    s.reduction_rows = false;
  }
  return s;
}

}  // namespace detail

ir::Graph prepare_for_quantization(const ir::Graph& graph) {
  passes::PassReport r;
  ops::InferOptions io;
  ir::Graph g = passes::fold_constants(graph, io, r);
  g = passes::remove_identities(g, r);
  g = passes::fold_batch_norm(g, r);
  g = passes::remove_dead_nodes(g, r);
  return g;
}

namespace {

// Static int8: inserts the QDQ pairs and quantized weights into `prepared`.
ir::Graph insert_qdq(const ir::Graph& prepared, const QuantSpec& spec,
                     const runtime::RangeMap& ranges, QuantResult& result) {
  ir::Graph g = prepared;
  const int64_t opset = g.opset("");
  if (opset < 10)
    throw UserError("quantize: the model's opset " + std::to_string(opset) +
                    " predates QuantizeLinear (10)");
  if (spec.per_channel && opset < 13)
    throw UserError(
        "quantize: per-channel weights need opset 13 (DequantizeLinear axis); the "
        "model has opset " +
        std::to_string(opset) + ": use int8:per-tensor");

  // Activation values to quantize: inputs of quantizable nodes, and their outputs (after
  // a sole Relu), where ONNX Runtime expects a QuantizeLinear to fuse the node.
  std::vector<std::string> acts;
  std::set<std::string> act_set;
  auto want = [&](const std::string& v) {
    if (v.empty() || g.initializer(v) || is_graph_output(g, v)) return;
    if (act_set.insert(v).second) acts.push_back(v);
  };
  std::vector<size_t> sites;
  std::map<size_t, detail::WeightSite> site_of;
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    const ir::Node& n = g.nodes[i];
    std::string why;
    auto s = detail::weight_site(g, n, why);
    if (s && spec.keep_float.count(n.name)) {
      s.reset();
      why = "kept float";
    }
    if (!s) {
      if (n.op_type == "Conv" || n.op_type == "Gemm" || n.op_type == "MatMul") {
        LayerQuant lq;
        lq.node = n.name;
        lq.op_type = n.op_type;
        lq.precision = "fp32 (" + why + ")";
        // A constant weight left float keeps its float32 bytes.
        if (n.inputs.size() > 1)
          if (const Tensor* w = g.initializer(n.inputs[1]))
            lq.weight_bytes_before = lq.weight_bytes_after = w->numel() * 4;
        result.weight_bytes_before += lq.weight_bytes_before;
        result.weight_bytes_after += lq.weight_bytes_after;
        result.layers.push_back(lq);
      }
      continue;
    }
    sites.push_back(i);
    site_of[i] = *s;
    want(n.inputs[0]);
    std::string y = n.outputs[0];
    const int64_t r = ir::sole_reader(g, y, ir::GraphOutputs::kIgnored, ir::DoubleRead::kOneReader);
    if (r >= 0 && (g.nodes[static_cast<size_t>(r)].op_type == "Relu") && !is_graph_output(g, y))
      y = g.nodes[static_cast<size_t>(r)].outputs[0];
    want(y);
  }

  // Activation QDQ pairs.
  std::map<std::string, ActivationParams> act_params;
  std::map<std::string, std::string> renamed;  // value -> its DequantizeLinear output
  std::vector<ir::Node> added;
  for (const auto& v : acts) {
    auto it = ranges.find(v);
    if (it == ranges.end()) {
      result.notes.push_back("activation '" + v +
                             "' left float: no finite value seen in calibration");
      continue;
    }
    const ActivationParams p = activation_params(it->second, spec.symmetric);
    act_params[v] = p;
    const std::string scale = g.unique_name(v + "_scale");
    g.initializers[scale] = Tensor::scalar<float>(p.scale);
    const std::string zp = g.unique_name(v + "_zero_point");
    g.initializers[zp] = spec.symmetric
                             ? Tensor::scalar<int8_t>(0)
                             : Tensor::scalar<uint8_t>(static_cast<uint8_t>(p.zero_point));
    const std::string q = g.unique_name(v + "_quantized");
    const std::string dq = g.unique_name(v + "_dequantized");
    ir::Node qn;
    qn.name = g.unique_name(v + "_QuantizeLinear");
    qn.op_type = "QuantizeLinear";
    qn.inputs = {v, scale, zp};
    qn.outputs = {q};
    ir::Node dn;
    dn.name = g.unique_name(v + "_DequantizeLinear");
    dn.op_type = "DequantizeLinear";
    dn.inputs = {q, scale, zp};
    dn.outputs = {dq};
    // unique_name looks at the graph only: reserve the names by adding the nodes now.
    g.nodes.push_back(qn);
    g.nodes.push_back(dn);
    renamed[v] = dq;
  }
  const size_t first_added = g.nodes.size() - 2 * renamed.size();
  for (size_t i = 0; i < first_added; ++i)
    for (auto& in : g.nodes[i].inputs)
      if (auto it = renamed.find(in); it != renamed.end()) in = it->second;

  // Weights (and biases) of the quantizable nodes.
  std::map<std::string, int64_t> readers = reader_counts(prepared);
  for (size_t i : sites) {
    ir::Node& n = g.nodes[i];
    const detail::WeightSite& s = site_of[i];
    const std::string w_name = s.weight;
    const Tensor& w = *prepared.initializer(w_name);
    const int64_t axis = spec.per_channel ? s.out_axis : -1;
    const WeightQuant wq = quantize_weight(w, axis);
    const int64_t channels = static_cast<int64_t>(wq.scales.size());
    LayerQuant lq;
    lq.node = n.name;
    lq.op_type = n.op_type;
    lq.precision =
        std::string("int8 w/a (") + (spec.per_channel ? "per-channel" : "per-tensor") + ")";
    lq.weight_bytes_before = w.numel() * 4;
    lq.weight_bytes_after = w.numel() + channels * 4;
    const std::string x = prepared.nodes[i].inputs[0];
    lq.input = x;
    if (auto it = ranges.find(x); it != ranges.end()) lq.input_range = it->second;
    const std::string qname = g.unique_name(n.name + "_weight_quantized");
    g.initializers[qname] = wq.q;
    const Shape sshape = axis < 0 ? Shape{} : Shape{channels};
    const std::string sname = g.unique_name(n.name + "_weight_scale");
    g.initializers[sname] = Tensor::from_vector<float>(sshape, wq.scales);
    const std::string zname = g.unique_name(n.name + "_weight_zero_point");
    g.initializers[zname] =
        Tensor::from_vector<int8_t>(sshape, std::vector<int8_t>(static_cast<size_t>(channels), 0));
    const std::string dq = g.unique_name(n.name + "_weight_dequantized");
    ir::Node dn;
    dn.name = g.unique_name(n.name + "_weight_DequantizeLinear");
    dn.op_type = "DequantizeLinear";
    dn.inputs = {qname, sname, zname};
    dn.outputs = {dq};
    if (axis >= 0) dn.attrs["axis"] = ir::Attribute{axis};
    n.inputs[1] = dq;
    if (--readers[w_name] == 0) g.initializers.erase(w_name);

    // Bias: int32 with scale x_scale * w_scale (ONNX Runtime's QDQ form), when the input
    // is quantized and the bias is a 1-D constant over the output channels.
    auto ap = act_params.find(x);
    const int64_t out_channels = w.dim(s.out_axis);
    if (n.op_type != "MatMul" && n.has_input(2) && ap != act_params.end()) {
      const std::string b_name = n.inputs[2];
      const Tensor* b = prepared.initializer(b_name);
      if (b && b->dtype() == DType::kF32 && b->rank() == 1 && b->numel() == out_channels &&
          (n.op_type == "Conv" || (n.attr_float("beta", 1.0f) == 1.0f))) {
        std::vector<float> bs(static_cast<size_t>(out_channels));
        std::vector<int32_t> bq(static_cast<size_t>(out_channels));
        const float* bv = b->data<float>();
        for (int64_t c = 0; c < out_channels; ++c) {
          const float ws = wq.scales[static_cast<size_t>(axis < 0 ? 0 : c)];
          const float sc = ap->second.scale * ws;
          bs[static_cast<size_t>(c)] = sc;
          const double qv = std::nearbyint(static_cast<double>(bv[c]) / sc);
          bq[static_cast<size_t>(c)] = static_cast<int32_t>(
              std::clamp(qv, static_cast<double>(std::numeric_limits<int32_t>::min() + 1),
                         static_cast<double>(std::numeric_limits<int32_t>::max())));
        }
        const std::string bqn = g.unique_name(n.name + "_bias_quantized");
        g.initializers[bqn] = Tensor::from_vector<int32_t>({out_channels}, bq);
        const std::string bsn = g.unique_name(n.name + "_bias_scale");
        g.initializers[bsn] = Tensor::from_vector<float>({out_channels}, bs);
        const std::string bzn = g.unique_name(n.name + "_bias_zero_point");
        g.initializers[bzn] = Tensor::from_vector<int32_t>(
            {out_channels}, std::vector<int32_t>(static_cast<size_t>(out_channels), 0));
        const std::string bdq = g.unique_name(n.name + "_bias_dequantized");
        ir::Node bn;
        bn.name = g.unique_name(n.name + "_bias_DequantizeLinear");
        bn.op_type = "DequantizeLinear";
        bn.inputs = {bqn, bsn, bzn};
        bn.outputs = {bdq};
        bn.attrs["axis"] = ir::Attribute{int64_t{0}};
        n.inputs[2] = bdq;
        if (--readers[b_name] == 0) g.initializers.erase(b_name);
        g.nodes.push_back(bn);
      }
    }
    g.nodes.push_back(dn);  // invalidates `n`: last
    result.layers.push_back(lq);
    result.weight_bytes_before += lq.weight_bytes_before;
    result.weight_bytes_after += lq.weight_bytes_after;
  }
  g.value_info.clear();  // renamed readers: stale shapes would mislead
  g.validate_and_sort();
  return g;
}

}  // namespace

QuantResult quantize(const ir::Graph& graph, const QuantSpec& spec,
                     const std::vector<std::vector<Tensor>>& calibration,
                     const runtime::SessionOptions& base) {
  QuantResult result;
  ir::Graph prepared = prepare_for_quantization(graph);
  if (spec.cle) prepared = equalize_cross_layer(prepared, result.notes);
  std::vector<std::vector<Tensor>> batches = calibration;
  if (spec.samples > 0) {
    // Samples counted across batches: keep whole batches up to `samples` elements of dim 0.
    std::vector<std::vector<Tensor>> kept;
    int64_t n = 0;
    for (auto& b : batches) {
      if (n >= spec.samples) break;
      n += b.empty() || b[0].rank() == 0 ? 1 : b[0].dim(0);
      kept.push_back(std::move(b));
    }
    batches = std::move(kept);
  }
  if ((spec.needs_calibration() || spec.bias_correct) && batches.empty())
    throw UserError("quantize: " + quant_spec_name(spec) + " needs calibration batches");

  if (spec.bias_correct) {
    std::map<std::string, Tensor> deq;
    for (const auto& n : prepared.nodes) {
      std::string why;
      auto s = detail::weight_site(prepared, n, why);
      if (!s) continue;
      const Tensor& w = *prepared.initializer(s->weight);
      if (spec.kind == QuantSpec::Kind::kWeightInt4) {
        deq[n.name] = detail::int4_fake_quant(w, *s, spec.group);
      } else if (spec.kind == QuantSpec::Kind::kStatic8) {
        const int64_t axis = spec.per_channel ? s->out_axis : -1;
        deq[n.name] = dequantize_weight(quantize_weight(w, axis), axis);
      }
    }
    if (!deq.empty()) prepared = correct_biases(prepared, deq, batches, base, result.notes);
  }
  result.prepared = prepared;

  switch (spec.kind) {
    case QuantSpec::Kind::kStatic8: {
      runtime::CalibrationOptions co = spec.calib;
      co.symmetric = spec.symmetric;
      result.ranges.method = runtime::calibration_method_name(co);
      int64_t samples = 0;
      for (const auto& b : batches) samples += b.empty() || b[0].rank() == 0 ? 1 : b[0].dim(0);
      result.ranges.samples = samples;
      result.ranges.ranges = runtime::calibrate(prepared, batches, base, co);
      result.graph = insert_qdq(prepared, spec, result.ranges.ranges, result);
      break;
    }
    case QuantSpec::Kind::kWeightInt4:
      result.graph = detail::quantize_int4_weights(prepared, spec, result);
      break;
    case QuantSpec::Kind::kDynamic8:
      result.graph = detail::quantize_dynamic(prepared, spec, result);
      break;
  }
  result.graph.metadata["frugal.quantization"] = quant_spec_name(spec);
  return result;
}

QuantResult quantize_with_ranges(const ir::Graph& graph, const QuantSpec& spec,
                                 const runtime::RangesFile& ranges) {
  if (spec.kind != QuantSpec::Kind::kStatic8)
    throw UserError("quantize: given ranges apply to static int8, not " + quant_spec_name(spec));
  if (spec.cle || spec.bias_correct)
    throw UserError("quantize: " + quant_spec_name(spec) +
                    ": cle and bias-correct change the values the given ranges describe");
  QuantResult result;
  result.prepared = prepare_for_quantization(graph);
  result.ranges = ranges;
  result.graph = insert_qdq(result.prepared, spec, ranges.ranges, result);
  result.graph.metadata["frugal.quantization"] = quant_spec_name(spec);
  return result;
}

nlohmann::ordered_json quant_report_json(const QuantResult& r, const QuantSpec& spec) {
  nlohmann::ordered_json j;
  j["spec"] = quant_spec_name(spec);
  j["weight_bytes_before"] = r.weight_bytes_before;
  j["weight_bytes_after"] = r.weight_bytes_after;
  j["layers"] = nlohmann::ordered_json::array();
  for (const auto& l : r.layers) {
    nlohmann::ordered_json e;
    e["node"] = l.node;
    e["op_type"] = l.op_type;
    e["precision"] = l.precision;
    e["weight_bytes_before"] = l.weight_bytes_before;
    e["weight_bytes_after"] = l.weight_bytes_after;
    if (!l.input.empty()) e["input"] = l.input;
    if (l.input_range) e["input_range"] = {l.input_range->min, l.input_range->max};
    j["layers"].push_back(e);
  }
  if (!r.ranges.ranges.empty()) {
    j["calibration"] = {{"method", r.ranges.method},
                        {"samples", r.ranges.samples},
                        {"values", r.ranges.ranges.size()}};
  }
  j["notes"] = r.notes;
  return j;
}

}  // namespace frugal::compress
