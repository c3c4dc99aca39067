#include "frugal/zoo/builder.h"

#include <algorithm>
#include <cmath>
#include <utility>

#include "frugal/core/rng.h"

namespace frugal::zoo {

namespace {

ir::Attribute int_attr(int64_t v) {
  return ir::Attribute{v};
}
ir::Attribute float_attr(float v) {
  return ir::Attribute{v};
}
ir::Attribute ints_attr(std::vector<int64_t> v) {
  return ir::Attribute{std::move(v)};
}

// Output length of a convolution or pooling window along one axis (torch/ONNX rule;
// in ceil mode a window that would start in the right padding is dropped).
int64_t window_out(int64_t in, int64_t kernel, int64_t stride, int64_t pad, int64_t dilation,
                   bool ceil_mode) {
  int64_t span = in + 2 * pad - dilation * (kernel - 1) - 1;
  FRUGAL_CHECK(span >= 0, "window larger than the padded input");
  int64_t out = (ceil_mode ? (span + stride - 1) / stride : span / stride) + 1;
  if (ceil_mode && (out - 1) * stride >= in + pad) --out;
  return out;
}

}  // namespace

GraphBuilder::GraphBuilder(std::string model_name, uint64_t seed) : seed_(seed) {
  graph_.name = std::move(model_name);
  graph_.opsets[""] = kZooOpset;
  graph_.ir_version = 8;
}

std::string GraphBuilder::claim_name(const std::string& wanted) {
  std::string name = wanted;
  for (int i = 1; used_names_.count(name); ++i) name = wanted + "_" + std::to_string(i);
  used_names_.insert(name);
  return name;
}

namespace {

// Zoo models are built at batch 1 with every Reshape target batch-free (-1 or 0), so the
// leading dimension is exported symbolic ("N"): `--batch B` (frugal) and other runtimes
// (ONNX Runtime refuses a batch other than a fixed 1) run any batch.
std::vector<ir::Dim> batch_free(const Shape& shape) {
  std::vector<ir::Dim> dims;
  for (size_t i = 0; i < shape.size(); ++i)
    dims.push_back(i == 0 ? ir::Dim{-1, "N"} : ir::Dim{shape[i], ""});
  return dims;
}

}  // namespace

void GraphBuilder::record_value(const std::string& value, Shape shape) {
  shapes_[value] = std::move(shape);
}

const Shape& GraphBuilder::shape_of(const std::string& value) const {
  auto it = shapes_.find(value);
  FRUGAL_CHECK(it != shapes_.end(), "zoo builder: unknown value '" + value + "'");
  return it->second;
}

std::string GraphBuilder::emit(const std::string& name, const std::string& op_type,
                               std::vector<std::string> inputs, Shape out_shape,
                               std::map<std::string, ir::Attribute> attrs) {
  ir::Node node;
  node.name = claim_name(name);
  node.op_type = op_type;
  node.inputs = std::move(inputs);
  node.outputs = {node.name};
  node.attrs = std::move(attrs);
  record_value(node.name, std::move(out_shape));
  graph_.nodes.push_back(std::move(node));
  return graph_.nodes.back().name;
}

template <typename Fill>
Tensor GraphBuilder::draw(const Shape& shape, Fill fill) {
  Tensor t(DType::kF32, shape);
  Philox rng(seed_, next_stream_++);
  float* d = t.data<float>();
  for (int64_t i = 0; i < t.numel(); ++i) d[i] = fill(rng, static_cast<uint64_t>(i));
  return t;
}

template <typename Fill>
std::string GraphBuilder::add_param(const std::string& name, const Shape& shape, Fill fill) {
  std::string value = claim_name(name);
  graph_.initializers.emplace(value, draw(shape, fill));
  return value;
}

std::string GraphBuilder::add_normal(const std::string& name, const Shape& shape, float std_dev) {
  std::string value = claim_name(name);
  graph_.initializers.emplace(value, draw_normal(shape, std_dev));
  return value;
}

std::string GraphBuilder::add_uniform(const std::string& name, const Shape& shape, float bound) {
  return add_param(name, shape, [bound](const Philox& r, uint64_t i) {
    return bound == 0.0f ? 0.0f : bound * (2.0f * r.uniform(i) - 1.0f);
  });
}

std::string GraphBuilder::add_constant(const std::string& name, Tensor value) {
  std::string v = claim_name(name);
  graph_.initializers.emplace(v, std::move(value));
  return v;
}

std::string GraphBuilder::add_input(const std::string& name, const Shape& shape) {
  std::string v = claim_name(name);
  ir::ValueInfo info;
  info.name = v;
  info.dtype = DType::kF32;
  info.shape = batch_free(shape);
  graph_.inputs.push_back(std::move(info));
  record_value(v, shape);
  return v;
}

std::string GraphBuilder::add_conv(const std::string& name, const std::string& x,
                                   int64_t out_channels, const ConvOptions& opt) {
  const Shape& in = shape_of(x);
  FRUGAL_CHECK(in.size() == 4, "conv '" + name + "' needs a 4-D input");
  FRUGAL_CHECK(in[1] % opt.groups == 0 && out_channels % opt.groups == 0,
               "conv '" + name + "': channels not divisible by groups");
  const int64_t k = opt.kernel, kw = opt.kernel_w > 0 ? opt.kernel_w : k;
  const int64_t pw = opt.pad_w >= 0 ? opt.pad_w : opt.pad;
  Shape w_shape{out_channels, in[1] / opt.groups, k, kw};
  // torch's fans: fan_in = in/groups * kh * kw, fan_out = out * kh * kw (not divided by groups).
  const double fan_in = static_cast<double>(in[1] / opt.groups * k * kw);
  const double fan_out = static_cast<double>(out_channels * k * kw);
  std::vector<std::string> inputs{x};
  float bias_bound = 0;  // bias U(+-bias_bound); 0: zeros
  if (opt.weight_std > 0.0f) {
    inputs.push_back(add_normal(name + ".weight", w_shape, opt.weight_std));
  } else if (opt.init == ConvInit::kKaimingNormalFanOut) {
    inputs.push_back(
        add_normal(name + ".weight", w_shape, static_cast<float>(std::sqrt(2.0 / fan_out))));
  } else if (opt.init == ConvInit::kKaimingNormalFanOutDefaultBias) {
    inputs.push_back(
        add_normal(name + ".weight", w_shape, static_cast<float>(std::sqrt(2.0 / fan_out))));
    bias_bound = static_cast<float>(1.0 / std::sqrt(fan_in));
  } else if (opt.init == ConvInit::kKaimingNormalFanIn) {
    inputs.push_back(
        add_normal(name + ".weight", w_shape, static_cast<float>(std::sqrt(2.0 / fan_in))));
  } else if (opt.init == ConvInit::kKaimingUniform) {
    inputs.push_back(
        add_uniform(name + ".weight", w_shape, static_cast<float>(std::sqrt(6.0 / fan_in))));
  } else {
    bias_bound = static_cast<float>(1.0 / std::sqrt(fan_in));
    inputs.push_back(add_uniform(name + ".weight", w_shape, bias_bound));
  }
  if (opt.bias) inputs.push_back(add_uniform(name + ".bias", {out_channels}, bias_bound));
  Shape out{in[0], out_channels, window_out(in[2], k, opt.stride, opt.pad, opt.dilation, false),
            window_out(in[3], kw, opt.stride, pw, opt.dilation, false)};
  return emit(name, "Conv", std::move(inputs), std::move(out),
              {{"kernel_shape", ints_attr({k, kw})},
               {"strides", ints_attr({opt.stride, opt.stride})},
               {"pads", ints_attr({opt.pad, pw, opt.pad, pw})},
               {"dilations", ints_attr({opt.dilation, opt.dilation})},
               {"group", int_attr(opt.groups)}});
}

std::string GraphBuilder::add_bn(const std::string& name, const std::string& x, float epsilon) {
  const int64_t c = channels(x);
  auto one = [](const Philox&, uint64_t) { return 1.0f; };
  auto zero = [](const Philox&, uint64_t) { return 0.0f; };
  std::vector<std::string> inputs{x};
  inputs.push_back(add_param(name + ".weight", {c}, one));
  inputs.push_back(add_param(name + ".bias", {c}, zero));
  inputs.push_back(add_param(name + ".running_mean", {c},
                             [](const Philox& r, uint64_t i) { return 0.1f * r.normal(i); }));
  inputs.push_back(add_param(name + ".running_var", {c},
                             [](const Philox& r, uint64_t i) { return 0.5f + r.uniform(i); }));
  return emit(name, "BatchNormalization", std::move(inputs), shape_of(x),
              {{"epsilon", float_attr(epsilon)}});
}

std::string GraphBuilder::add_relu(const std::string& name, const std::string& x) {
  return emit(name, "Relu", {x}, shape_of(x));
}

std::string GraphBuilder::add_relu6(const std::string& name, const std::string& x) {
  // One pair of bound constants serves every ReLU6 in the graph.
  if (relu6_min_.empty()) {
    relu6_min_ = add_constant("relu6.min", Tensor::scalar<float>(0.0f));
    relu6_max_ = add_constant("relu6.max", Tensor::scalar<float>(6.0f));
  }
  return emit(name, "Clip", {x, relu6_min_, relu6_max_}, shape_of(x));
}

std::string GraphBuilder::add_hardswish(const std::string& name, const std::string& x) {
  return emit(name, "HardSwish", {x}, shape_of(x));
}

std::string GraphBuilder::add_hardsigmoid(const std::string& name, const std::string& x) {
  return emit(name, "HardSigmoid", {x}, shape_of(x),
              {{"alpha", float_attr(1.0f / 6.0f)}, {"beta", float_attr(0.5f)}});
}

std::string GraphBuilder::add_add(const std::string& name, const std::string& a,
                                  const std::string& b) {
  FRUGAL_CHECK(shape_of(a) == shape_of(b), "add '" + name + "': shapes differ");
  return emit(name, "Add", {a, b}, shape_of(a));
}

std::string GraphBuilder::add_mul(const std::string& name, const std::string& a,
                                  const std::string& b) {
  const Shape& sa = shape_of(a);
  const Shape& sb = shape_of(b);
  // numpy broadcasting: trailing axes aligned, a missing leading axis counts as 1.
  const size_t rank = std::max(sa.size(), sb.size());
  Shape out(rank);
  for (size_t i = 0; i < rank; ++i) {
    const int64_t da = i < rank - sa.size() ? 1 : sa[i - (rank - sa.size())];
    const int64_t db = i < rank - sb.size() ? 1 : sb[i - (rank - sb.size())];
    FRUGAL_CHECK(da == db || da == 1 || db == 1, "mul '" + name + "': shapes do not broadcast");
    out[i] = std::max(da, db);
  }
  return emit(name, "Mul", {a, b}, std::move(out));
}

std::string GraphBuilder::add_max_pool(const std::string& name, const std::string& x,
                                       int64_t kernel, int64_t stride, int64_t pad,
                                       bool ceil_mode) {
  const Shape& in = shape_of(x);
  Shape out{in[0], in[1], window_out(in[2], kernel, stride, pad, 1, ceil_mode),
            window_out(in[3], kernel, stride, pad, 1, ceil_mode)};
  std::map<std::string, ir::Attribute> attrs{{"kernel_shape", ints_attr({kernel, kernel})},
                                             {"strides", ints_attr({stride, stride})},
                                             {"pads", ints_attr({pad, pad, pad, pad})}};
  if (ceil_mode) attrs["ceil_mode"] = int_attr(1);
  return emit(name, "MaxPool", {x}, std::move(out), std::move(attrs));
}

std::string GraphBuilder::add_avg_pool(const std::string& name, const std::string& x,
                                       int64_t kernel, int64_t stride, int64_t pad) {
  const Shape& in = shape_of(x);
  Shape out{in[0], in[1], window_out(in[2], kernel, stride, pad, 1, false),
            window_out(in[3], kernel, stride, pad, 1, false)};
  return emit(name, "AveragePool", {x}, std::move(out),
              {{"kernel_shape", ints_attr({kernel, kernel})},
               {"strides", ints_attr({stride, stride})},
               {"pads", ints_attr({pad, pad, pad, pad})},
               {"count_include_pad", int_attr(1)}});
}

std::string GraphBuilder::add_global_avg_pool(const std::string& name, const std::string& x) {
  const Shape& in = shape_of(x);
  return emit(name, "GlobalAveragePool", {x}, {in[0], in[1], 1, 1});
}

std::string GraphBuilder::add_reduce_mean(const std::string& name, const std::string& x,
                                          const std::vector<int64_t>& axes, bool keepdims) {
  const Shape& in = shape_of(x);
  Shape out;
  for (size_t i = 0; i < in.size(); ++i) {
    const bool reduced = std::count(axes.begin(), axes.end(), static_cast<int64_t>(i)) > 0;
    FRUGAL_CHECK(!reduced || i > 0, "reduce_mean '" + name + "': the batch axis stays");
    if (!reduced)
      out.push_back(in[i]);
    else if (keepdims)
      out.push_back(1);
  }
  return emit(name, "ReduceMean", {x}, std::move(out),
              {{"axes", ints_attr(axes)}, {"keepdims", int_attr(keepdims ? 1 : 0)}});
}

std::string GraphBuilder::add_flatten(const std::string& name, const std::string& x) {
  const Shape& in = shape_of(x);
  int64_t inner = 1;
  for (size_t i = 1; i < in.size(); ++i) inner *= in[i];
  return emit(name, "Flatten", {x}, {in[0], inner}, {{"axis", int_attr(1)}});
}

std::string GraphBuilder::linear_from(const std::string& name, const std::string& x,
                                      int64_t out_features, std::string weight, std::string bias) {
  return emit(name, "Gemm", {x, std::move(weight), std::move(bias)}, {shape_of(x)[0], out_features},
              {{"transB", int_attr(1)}});
}

std::string GraphBuilder::add_linear(const std::string& name, const std::string& x,
                                     int64_t out_features, float weight_std) {
  const Shape& in = shape_of(x);
  FRUGAL_CHECK(in.size() == 2, "linear '" + name + "' needs a 2-D input");
  const Shape w_shape{out_features, in[1]};
  const auto bound = static_cast<float>(1.0 / std::sqrt(static_cast<double>(in[1])));
  // The weight is created before the bias (their seeds' streams follow creation order).
  std::string w = weight_std > 0.0f ? add_normal(name + ".weight", w_shape, weight_std)
                                    : add_uniform(name + ".weight", w_shape, bound);
  std::string b = add_uniform(name + ".bias", {out_features}, weight_std > 0.0f ? 0.0f : bound);
  return linear_from(name, x, out_features, std::move(w), std::move(b));
}

std::string GraphBuilder::add_linear(const std::string& name, const std::string& x,
                                     int64_t out_features, LinearInit init) {
  const Shape& in = shape_of(x);
  FRUGAL_CHECK(in.size() == 2, "linear '" + name + "' needs a 2-D input");
  const Shape w_shape{out_features, in[1]};
  const auto in_f = static_cast<double>(in[1]), out_f = static_cast<double>(out_features);
  // The weight is created before the bias (their seeds' streams follow creation order).
  std::string w;
  float bias_bound = 0.0f;
  switch (init) {
    case LinearInit::kTorchDefaultZeroBias:
      w = add_uniform(name + ".weight", w_shape, static_cast<float>(1.0 / std::sqrt(in_f)));
      break;
    case LinearInit::kUniformByOutZeroBias:
      w = add_uniform(name + ".weight", w_shape, static_cast<float>(1.0 / std::sqrt(out_f)));
      break;
    case LinearInit::kKaimingUniformByOutZeroBias:
      w = add_uniform(name + ".weight", w_shape, static_cast<float>(std::sqrt(3.0 / out_f)));
      break;
    case LinearInit::kNormal001DefaultBias:
      w = add_normal(name + ".weight", w_shape, 0.01f);
      bias_bound = static_cast<float>(1.0 / std::sqrt(in_f));
      break;
  }
  std::string b = add_uniform(name + ".bias", {out_features}, bias_bound);
  return linear_from(name, x, out_features, std::move(w), std::move(b));
}

std::string GraphBuilder::add_linear_nd(const std::string& name, const std::string& x,
                                        int64_t out_features, float weight_std, bool bias) {
  Shape shape = shape_of(x);
  FRUGAL_CHECK(shape.size() > 2, "linear '" + name + "' needs an input of rank > 2");
  const std::string w = add_normal(name + ".weight_t", {shape.back(), out_features}, weight_std);
  shape.back() = out_features;
  if (!bias) return emit(name, "MatMul", {x, w}, shape);
  const std::string b = add_uniform(name + ".bias", {out_features}, 0.0f);
  const std::string y = emit(name + ".matmul", "MatMul", {x, w}, shape);
  return emit(name, "Add", {y, b}, shape);
}

std::string GraphBuilder::add_matmul(const std::string& name, const std::string& a,
                                     const std::string& b) {
  const Shape &sa = shape_of(a), &sb = shape_of(b);
  FRUGAL_CHECK(sa.size() >= 2 && sa.size() == sb.size() &&
                   std::equal(sa.begin(), sa.end() - 2, sb.begin()) &&
                   sa.back() == sb[sb.size() - 2],
               "matmul '" + name + "': shapes do not multiply");
  Shape out = sa;
  out.back() = sb.back();
  return emit(name, "MatMul", {a, b}, std::move(out));
}

std::string GraphBuilder::add_slice(const std::string& name, const std::string& x,
                                    const std::vector<int64_t>& starts,
                                    const std::vector<int64_t>& ends,
                                    const std::vector<int64_t>& axes,
                                    const std::vector<int64_t>& steps) {
  FRUGAL_CHECK(starts.size() == axes.size() && ends.size() == axes.size() &&
                   (steps.empty() || steps.size() == axes.size()),
               "slice '" + name + "': starts, ends, axes and steps differ in length");
  Shape out = shape_of(x);
  for (size_t i = 0; i < axes.size(); ++i) {
    const int64_t n = out.at(static_cast<size_t>(axes[i]));
    const int64_t step = steps.empty() ? 1 : steps[i];
    FRUGAL_CHECK(step > 0, "slice '" + name + "': only positive steps");
    auto clamp = [n](int64_t v) { return std::clamp(v < 0 ? v + n : v, int64_t{0}, n); };
    const int64_t begin = clamp(starts[i]), end = clamp(ends[i]);
    out[static_cast<size_t>(axes[i])] = end > begin ? (end - begin + step - 1) / step : 0;
  }
  auto ints = [&](const char* what, const std::vector<int64_t>& v) {
    return add_constant(name + what,
                        Tensor::from_vector<int64_t>({static_cast<int64_t>(v.size())}, v));
  };
  std::vector<std::string> inputs{x, ints(".starts", starts), ints(".ends", ends),
                                  ints(".axes", axes)};
  if (!steps.empty()) inputs.push_back(ints(".steps", steps));
  return emit(name, "Slice", std::move(inputs), std::move(out));
}

std::string GraphBuilder::add_gather(const std::string& name, const std::string& x, int64_t index,
                                     int64_t axis) {
  Shape out = shape_of(x);
  FRUGAL_CHECK(axis >= 0 && axis < static_cast<int64_t>(out.size()) &&
                   index < out[static_cast<size_t>(axis)],
               "gather '" + name + "': index out of range");
  out.erase(out.begin() + axis);
  const std::string i = add_constant(name + ".index", Tensor::scalar<int64_t>(index));
  return emit(name, "Gather", {x, i}, std::move(out), {{"axis", int_attr(axis)}});
}

std::string GraphBuilder::add_training_dropout(const std::string& name, const std::string& x,
                                               float ratio) {
  const std::string r = add_constant(name + ".ratio", Tensor::scalar<float>(ratio));
  const std::string t = add_constant(name + ".training_mode", Tensor::scalar<bool>(true));
  const std::string y = emit(name, "Dropout", {x, r, t}, shape_of(x));
  // The mask output (bool), unread; not in shapes_, whose values finish() records as float.
  graph_.nodes.back().outputs.push_back(claim_name(name + ".mask"));
  return y;
}

Tensor GraphBuilder::draw_normal(const Shape& shape, float std_dev) {
  return draw(shape, [std_dev](const Philox& r, uint64_t i) { return std_dev * r.normal(i); });
}

std::string GraphBuilder::add_upsample(const std::string& name, const std::string& x,
                                       int64_t factor, bool bilinear) {
  const float f = static_cast<float>(factor);
  const std::string scales =
      add_constant(name + ".scales", Tensor::from_vector<float>({4}, {1.0f, 1.0f, f, f}));
  Shape out = shape_of(x);
  out[2] *= factor;
  out[3] *= factor;
  const std::string mode = bilinear ? "linear" : "nearest";
  const std::string coordinates = bilinear ? "half_pixel" : "asymmetric";
  return emit(name, "Resize", {x, "", scales}, std::move(out),
              {{"mode", ir::Attribute{.value = mode}},
               {"coordinate_transformation_mode", ir::Attribute{.value = coordinates}},
               {"cubic_coeff_a", float_attr(-0.75f)},
               {"nearest_mode", ir::Attribute{.value = std::string("floor")}}});
}

std::string GraphBuilder::add_sigmoid(const std::string& name, const std::string& x) {
  return emit(name, "Sigmoid", {x}, shape_of(x));
}

std::string GraphBuilder::add_silu(const std::string& name, const std::string& x) {
  return emit(name, "Mul", {x, add_sigmoid(name + ".sigmoid", x)}, shape_of(x));
}

std::string GraphBuilder::add_gelu(const std::string& name, const std::string& x) {
  if (gelu_sqrt2_.empty()) {
    gelu_sqrt2_ = add_constant("gelu.sqrt2", Tensor::scalar<float>(std::sqrt(2.0f)));
    gelu_one_ = add_constant("gelu.one", Tensor::scalar<float>(1.0f));
    gelu_half_ = add_constant("gelu.half", Tensor::scalar<float>(0.5f));
  }
  const Shape& s = shape_of(x);
  const std::string e =
      emit(name + ".erf", "Erf", {emit(name + ".div", "Div", {x, gelu_sqrt2_}, s)}, s);
  const std::string p = emit(name + ".add", "Add", {e, gelu_one_}, s);
  return emit(name, "Mul", {emit(name + ".mul", "Mul", {x, p}, s), gelu_half_}, s);
}

std::string GraphBuilder::add_transpose(const std::string& name, const std::string& x,
                                        const std::vector<int64_t>& perm) {
  const Shape& in = shape_of(x);
  FRUGAL_CHECK(perm.size() == in.size(), "transpose '" + name + "': perm rank differs");
  Shape out;
  for (int64_t p : perm) out.push_back(in.at(static_cast<size_t>(p)));
  return emit(name, "Transpose", {x}, std::move(out), {{"perm", ints_attr(perm)}});
}

std::string GraphBuilder::add_layer_norm(const std::string& name, const std::string& x,
                                         float epsilon) {
  const int64_t c = shape_of(x).back();
  auto one = [](const Philox&, uint64_t) { return 1.0f; };
  auto zero = [](const Philox&, uint64_t) { return 0.0f; };
  std::string scale = add_param(name + ".weight", {c}, one);
  std::string shift = add_param(name + ".bias", {c}, zero);
  return emit(name, "LayerNormalization", {x, scale, shift}, shape_of(x),
              {{"axis", int_attr(-1)}, {"epsilon", float_attr(epsilon)}});
}

std::string GraphBuilder::add_channel_scale(const std::string& name, const std::string& x,
                                            float value) {
  std::string gamma =
      add_param(name, {channels(x), 1, 1}, [value](const Philox&, uint64_t) { return value; });
  return emit(name + ".mul", "Mul", {gamma, x}, shape_of(x));  // [C, 1, 1] broadcasts over x
}

std::string GraphBuilder::add_concat(const std::string& name, const std::vector<std::string>& xs,
                                     int64_t axis) {
  FRUGAL_CHECK(!xs.empty(), "concat '" + name + "' has no inputs");
  Shape out = shape_of(xs[0]);
  const auto a = static_cast<size_t>(axis);
  FRUGAL_CHECK(a < out.size(), "concat '" + name + "': axis out of range");
  for (size_t i = 1; i < xs.size(); ++i) {
    Shape s = shape_of(xs[i]);
    FRUGAL_CHECK(s.size() == out.size(), "concat '" + name + "': ranks differ");
    for (size_t d = 0; d < s.size(); ++d)
      FRUGAL_CHECK(d == a || s[d] == out[d], "concat '" + name + "': shapes differ");
    out[a] += s[a];
  }
  return emit(name, "Concat", xs, std::move(out), {{"axis", int_attr(axis)}});
}

std::string GraphBuilder::add_reshape(const std::string& name, const std::string& x,
                                      const std::vector<int64_t>& dims) {
  const Shape& in = shape_of(x);
  Shape out;
  int64_t known = 1, inferred = -1;
  for (size_t i = 0; i < dims.size(); ++i) {
    const int64_t d = dims[i] == 0 ? in.at(i) : dims[i];
    if (d == -1) inferred = static_cast<int64_t>(i);
    out.push_back(d);
    if (d != -1) known *= d;
  }
  if (inferred >= 0) out[static_cast<size_t>(inferred)] = shape_numel(in) / known;
  FRUGAL_CHECK(shape_numel(out) == shape_numel(in), "reshape '" + name + "': sizes differ");
  const std::string shape = add_constant(
      name + ".shape", Tensor::from_vector<int64_t>({static_cast<int64_t>(dims.size())}, dims));
  return emit(name, "Reshape", {x, shape}, std::move(out));
}

std::string GraphBuilder::add_softmax(const std::string& name, const std::string& x, int64_t axis) {
  return emit(name, "Softmax", {x}, shape_of(x), {{"axis", int_attr(axis)}});
}

std::string GraphBuilder::add_binary(const std::string& name, const std::string& op,
                                     const std::string& a, const std::string& b) {
  const Shape &sa = shape_of(a), &sb = shape_of(b);
  Shape out(std::max(sa.size(), sb.size()), 1);
  for (size_t i = 0; i < out.size(); ++i) {
    const int64_t da = i < sa.size() ? sa[sa.size() - 1 - i] : 1;
    const int64_t db = i < sb.size() ? sb[sb.size() - 1 - i] : 1;
    FRUGAL_CHECK(da == db || da == 1 || db == 1, op + " '" + name + "': shapes do not broadcast");
    out[out.size() - 1 - i] = std::max(da, db);
  }
  return emit(name, op, {a, b}, std::move(out));
}

std::string GraphBuilder::add_fixed(const std::string& name, Tensor value) {
  Shape shape = value.shape();
  const std::string v = add_constant(name, std::move(value));
  record_value(v, std::move(shape));
  return v;
}

std::string GraphBuilder::add_fixed_conv(const std::string& name, const std::string& x,
                                         Tensor weight) {
  const Shape& in = shape_of(x);
  FRUGAL_CHECK(in.size() == 4 && weight.rank() == 4 && weight.dim(1) == in[1] &&
                   weight.dim(2) == 1 && weight.dim(3) == 1,
               "conv '" + name + "': a 1x1 weight over the input's channels is needed");
  Shape out{in[0], weight.dim(0), in[2], in[3]};
  const std::string w = add_constant(name + ".weight", std::move(weight));
  return emit(name, "Conv", {x, w}, std::move(out),
              {{"kernel_shape", ints_attr({1, 1})},
               {"strides", ints_attr({1, 1})},
               {"pads", ints_attr({0, 0, 0, 0})},
               {"dilations", ints_attr({1, 1})},
               {"group", int_attr(1)}});
}

std::vector<std::string> GraphBuilder::add_split(const std::string& name, const std::string& x,
                                                 const std::vector<int64_t>& sizes) {
  const Shape& in = shape_of(x);
  int64_t total = 0;
  for (int64_t s : sizes) total += s;
  FRUGAL_CHECK(total == in.at(1), "split '" + name + "': sizes do not sum to the channels");
  std::string sizes_value = add_constant(
      name + ".split", Tensor::from_vector<int64_t>({static_cast<int64_t>(sizes.size())}, sizes));
  ir::Node node;
  node.name = claim_name(name);
  node.op_type = "Split";
  node.inputs = {x, sizes_value};
  node.attrs["axis"] = int_attr(1);
  for (size_t i = 0; i < sizes.size(); ++i) {
    std::string out = claim_name(node.name + "." + std::to_string(i));
    Shape s = in;
    s[1] = sizes[i];
    record_value(out, std::move(s));
    node.outputs.push_back(out);
  }
  std::vector<std::string> outputs = node.outputs;
  graph_.nodes.push_back(std::move(node));
  return outputs;
}

std::string GraphBuilder::add_channel_shuffle(const std::string& name, const std::string& x,
                                              int64_t groups) {
  const Shape in = shape_of(x);
  FRUGAL_CHECK(in.size() == 4 && in[1] % groups == 0,
               "channel shuffle '" + name + "': channels not divisible by groups");
  // -1 keeps the batch dimension free.
  Shape grouped{-1, groups, in[1] / groups, in[2], in[3]};
  Shape flat{-1, in[1], in[2], in[3]};
  std::string grouped_shape =
      add_constant(name + ".grouped_shape", Tensor::from_vector<int64_t>({5}, grouped));
  std::string flat_shape =
      add_constant(name + ".flat_shape", Tensor::from_vector<int64_t>({4}, flat));
  std::string g = emit(name + ".reshape_grouped", "Reshape", {x, grouped_shape},
                       {in[0], groups, in[1] / groups, in[2], in[3]});
  std::string t =
      emit(name + ".transpose", "Transpose", {g}, {in[0], in[1] / groups, groups, in[2], in[3]},
           {{"perm", ints_attr({0, 2, 1, 3, 4})}});
  return emit(name + ".reshape_flat", "Reshape", {t, flat_shape}, in);
}

ir::Graph GraphBuilder::finish(const std::string& value, const std::string& output_name) {
  int64_t producer = graph_.producer(value);
  FRUGAL_CHECK(producer >= 0, "zoo builder: output '" + value + "' is not a node output");
  FRUGAL_CHECK(!used_names_.count(output_name) || output_name == value,
               "zoo builder: output name '" + output_name + "' is taken");
  Shape out_shape = shape_of(value);
  for (auto& o : graph_.nodes[static_cast<size_t>(producer)].outputs)
    if (o == value) o = output_name;
  shapes_.erase(value);

  ir::ValueInfo out;
  out.name = output_name;
  out.dtype = DType::kF32;
  out.shape = batch_free(out_shape);
  graph_.outputs = {out};

  // Shapes of intermediate values (graph inputs carry their own) whose leading dimension is
  // the batch: 1 as built. Another (Swin's windows of all images, [N * 64, 49, C], or its
  // packed [3, N * 64, ...] Q, K, V) has no symbolic name here and is left to inference.
  for (const auto& [name, shape] : shapes_) {
    if (graph_.find_input(name) || graph_.initializers.count(name)) continue;  // add_fixed's
    if (shape.empty() || shape[0] != 1) continue;
    ir::ValueInfo info;
    info.name = name;
    info.dtype = DType::kF32;
    info.shape = batch_free(shape);
    graph_.value_info.emplace(name, std::move(info));
  }
  return std::move(graph_);
}

}  // namespace frugal::zoo
