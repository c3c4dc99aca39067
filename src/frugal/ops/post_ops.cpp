#include "frugal/ops/post_ops.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>

#include "frugal/core/strings.h"
#include "frugal/ops/util.h"

namespace frugal::ops {
namespace {

PostOp parse_entry(const ir::Node& node, const std::string& entry) {
  const std::vector<std::string> p = split(entry, ':');
  auto bad = [&](const std::string& why) -> UserError {
    return UserError(node.describe() + ": " + kPostOpsAttr + " entry '" + entry + "' " + why);
  };
  auto want = [&](size_t n) {
    if (p.size() != n + 1)
      throw bad("needs " + std::to_string(n) + (n == 1 ? " parameter" : " parameters"));
  };
  auto number = [&](size_t i) {
    char* end = nullptr;
    const float v = std::strtof(p[i].c_str(), &end);
    if (p[i].empty() || *end != '\0') throw bad("has a bad number '" + p[i] + "'");
    return v;
  };
  using K = PostOp::Kind;
  struct Known {
    const char* name;
    K kind;
    size_t params;
  };
  static const Known known[] = {
      {"relu", K::kRelu, 0},
      {"sigmoid", K::kSigmoid, 0},
      {"hardswish", K::kHardSwish, 0},
      {"sum", K::kSum, 0},
      {"leakyrelu", K::kLeakyRelu, 1},
      {"clip", K::kClip, 2},
      {"hardsigmoid", K::kHardSigmoid, 2},
      {"swish", K::kSwish, 0},
      {"gelu", K::kGelu, 0},
      {"gelutanh", K::kGeluTanh, 0},
      {"linear", K::kLinear, 2},
  };
  for (const Known& k : known) {
    if (p[0] != k.name) continue;
    want(k.params);
    PostOp op{k.kind};
    if (k.params > 0) op.a = number(1);
    if (k.params > 1) op.b = number(2);
    return op;
  }
  throw bad("is not a known post-op");
}

std::string exact(float v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.9g", static_cast<double>(v));
  return buf;
}

TensorInfo info_of(const InferContext& ctx, size_t i) {
  TensorInfo t;
  try {
    t.dtype = ctx.dtype(i);
    t.shape = ctx.shape(i);
  } catch (const DataDependentShape&) {
  }
  if (const Tensor* v = ctx.value(i)) t.value = *v;
  return t;
}

template <typename T>
void apply(const std::vector<PostOp>& ops, Tensor& y, const Tensor* sum) {
  T* d = y.data<T>();
  const int64_t n = y.numel();
  using K = PostOp::Kind;
  for (const PostOp& op : ops) {
    const T a = static_cast<T>(op.a), b = static_cast<T>(op.b);
    switch (op.kind) {
      case K::kRelu:
        for (int64_t i = 0; i < n; ++i) d[i] = std::max(d[i], T(0));
        break;
      case K::kLeakyRelu:
        for (int64_t i = 0; i < n; ++i) d[i] = d[i] >= T(0) ? d[i] : a * d[i];
        break;
      case K::kClip:
        for (int64_t i = 0; i < n; ++i) d[i] = std::min(std::max(d[i], a), b);
        break;
      case K::kSigmoid:
        for (int64_t i = 0; i < n; ++i) d[i] = T(1) / (T(1) + std::exp(-d[i]));
        break;
      case K::kHardSwish:
        for (int64_t i = 0; i < n; ++i)
          d[i] = d[i] * std::min(std::max(d[i] / T(6) + T(0.5), T(0)), T(1));
        break;
      case K::kHardSigmoid:
        for (int64_t i = 0; i < n; ++i) d[i] = std::min(std::max(a * d[i] + b, T(0)), T(1));
        break;
      case K::kSwish:
        for (int64_t i = 0; i < n; ++i) d[i] = d[i] / (T(1) + std::exp(-d[i]));
        break;
      case K::kGelu:  // as the Gelu operator computes it (ops/activation.cpp)
        for (int64_t i = 0; i < n; ++i)
          d[i] = T(0.5) * d[i] * (T(1) + std::erf(d[i] * T(0.7071067811865476)));
        break;
      case K::kGeluTanh:
        for (int64_t i = 0; i < n; ++i)
          d[i] =
              T(0.5) * d[i] *
              (T(1) + std::tanh(T(0.7978845608028654) * (d[i] + T(0.044715) * d[i] * d[i] * d[i])));
        break;
      case K::kLinear:
        for (int64_t i = 0; i < n; ++i) d[i] = a * d[i] + b;
        break;
      case K::kSum: {
        const T* s = sum->data<T>();
        if (sum->shape() == y.shape()) {
          for (int64_t i = 0; i < n; ++i) d[i] += s[i];
        } else {
          for_each_broadcast(y.shape(), {sum->shape()},
                             [&](int64_t i, const int64_t* off) { d[i] += s[off[0]]; });
        }
        break;
      }
    }
  }
}

}  // namespace

bool accepts_post_ops(std::string_view op_type) {
  return op_type == "Conv" || op_type == "ConvTranspose" || op_type == "Gemm" ||
         op_type == "MatMul" || op_type == "BatchNormalization";
}

size_t sum_operand_index(std::string_view op_type) {
  if (op_type == "BatchNormalization") return 5;
  return op_type == "MatMul" ? 2 : 3;
}

bool has_post_ops(const ir::Node& node) {
  return node.has_attr(kPostOpsAttr);
}

std::vector<PostOp> post_ops_of(const ir::Node& node) {
  std::vector<PostOp> ops;
  if (!has_post_ops(node)) return ops;
  for (const std::string& e : node.attr_strings(kPostOpsAttr)) ops.push_back(parse_entry(node, e));
  if (std::count_if(ops.begin(), ops.end(),
                    [](const PostOp& o) { return o.kind == PostOp::Kind::kSum; }) > 1)
    throw UserError(node.describe() + ": " + kPostOpsAttr + " has more than one 'sum'");
  return ops;
}

bool has_sum(const std::vector<PostOp>& ops) {
  for (const auto& o : ops)
    if (o.kind == PostOp::Kind::kSum) return true;
  return false;
}

std::string post_op_entry(const PostOp& op) {
  using K = PostOp::Kind;
  switch (op.kind) {
    case K::kRelu:
      return "relu";
    case K::kLeakyRelu:
      return "leakyrelu:" + exact(op.a);
    case K::kClip:
      return "clip:" + exact(op.a) + ":" + exact(op.b);
    case K::kSigmoid:
      return "sigmoid";
    case K::kHardSwish:
      return "hardswish";
    case K::kHardSigmoid:
      return "hardsigmoid:" + exact(op.a) + ":" + exact(op.b);
    case K::kSum:
      return "sum";
    case K::kSwish:
      return "swish";
    case K::kGelu:
      return "gelu";
    case K::kGeluTanh:
      return "gelutanh";
    case K::kLinear:
      return "linear:" + exact(op.a) + ":" + exact(op.b);
  }
  return "?";
}

size_t own_input_count(const ir::Node& node) {
  if (!has_post_ops(node) || !has_sum(post_ops_of(node))) return node.inputs.size();
  return std::min(node.inputs.size(), sum_operand_index(node.op_type));
}

ir::Node base_node(const ir::Node& node) {
  ir::Node base = node;
  base.inputs.resize(own_input_count(node));
  base.attrs.erase(kPostOpsAttr);
  return base;
}

void infer_with_post_ops(const OpDef& def, InferContext& ctx) {
  const ir::Node& n = ctx.node();
  if (!has_post_ops(n)) {
    def.infer(ctx);
    return;
  }
  if (!accepts_post_ops(n.op_type) || !(n.domain.empty() || n.domain == "ai.onnx"))
    ctx.fail(std::string(kPostOpsAttr) +
             " is only defined for Conv, ConvTranspose, Gemm, MatMul, BatchNormalization");
  const std::vector<PostOp> ops = post_ops_of(n);
  const ir::Node base = base_node(n);
  std::vector<TensorInfo> infos;
  infos.reserve(base.inputs.size());
  std::vector<const TensorInfo*> ptrs;
  for (size_t i = 0; i < base.inputs.size(); ++i) {
    infos.push_back(ctx.has_input(i) ? info_of(ctx, i) : TensorInfo{});
    ptrs.push_back(ctx.has_input(i) ? &infos.back() : nullptr);
  }
  InferContext bctx(base, ctx.opset(), ptrs);
  def.infer(bctx);
  for (size_t i = 0; i < ctx.num_outputs(); ++i) {
    ctx.outputs()[i] = std::move(bctx.outputs()[i]);
    ctx.outputs()[i].value.reset();  // the post-ops change it
  }
  const TensorInfo& y = ctx.outputs()[0];
  if (y.dtype != DType::kF32 && y.dtype != DType::kF64)
    ctx.unsupported(std::string(kPostOpsAttr) + " on a " + std::string(dtype_name(y.dtype)) +
                    " output (float32 and float64 only)");
  if (!has_sum(ops)) {
    if (n.inputs.size() > base.inputs.size()) ctx.fail("has an extra input but no 'sum' post-op");
    return;
  }
  const size_t s = sum_operand_index(n.op_type);
  if (n.inputs.size() != s + 1 || !ctx.has_input(s))
    ctx.fail("the 'sum' post-op needs its operand as input " + std::to_string(s) +
             " (the last one)");
  if (ctx.dtype(s) != y.dtype)
    ctx.fail("sum operand '" + n.inputs[s] + "' is " + std::string(dtype_name(ctx.dtype(s))) +
             ", the output " + std::string(dtype_name(y.dtype)));
  const Shape& ss = ctx.shape(s);
  const Shape& ys = *y.shape;
  bool ok = ss.size() <= ys.size();
  for (size_t d = 0; ok && d < ss.size(); ++d) {
    const int64_t want = ys[ys.size() - ss.size() + d];
    ok = ss[d] == want || ss[d] == 1;
  }
  if (!ok)
    ctx.fail("sum operand '" + n.inputs[s] + "' of shape " + shape_str(ss) +
             " does not broadcast to the output " + shape_str(ys));
}

void apply_post_ops(const std::vector<PostOp>& ops, Tensor& y, const Tensor* sum) {
  if (has_sum(ops) && (!sum || sum->dtype() != y.dtype()))
    throw InternalError("post-op 'sum' without a matching operand");
  if (y.dtype() == DType::kF64) {
    apply<double>(ops, y, sum);
  } else {
    apply<float>(ops, y, sum);
  }
}

}  // namespace frugal::ops
