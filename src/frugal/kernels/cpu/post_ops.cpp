#include "frugal/kernels/cpu/post_ops.h"

#include <cstdlib>

namespace frugal::kernels::cpu {
namespace {

std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> parts(1);
  for (char c : s) {
    if (c == sep) {
      parts.emplace_back();
    } else {
      parts.back() += c;
    }
  }
  return parts;
}

float parse_float(const std::string& entry, const std::string& text) {
  char* end = nullptr;
  const float v = std::strtof(text.c_str(), &end);
  if (text.empty() || *end != '\0')
    decline(std::string(kPostOpsAttr) + " entry '" + entry + "' has a bad number '" + text + "'");
  return v;
}

bool has_sum(const kernels::NodeView& view) {
  if (!view.node.has_attr(kPostOpsAttr)) return false;
  for (const auto& e : view.node.attr_strings(kPostOpsAttr))
    if (e == "sum") return true;
  return false;
}

}  // namespace

size_t sum_operand_index(const std::string& op_type) {
  return op_type == "MatMul" ? 2 : 3;
}

size_t own_input_count(const kernels::NodeView& view) {
  if (!has_sum(view)) return view.inputs.size();
  return sum_operand_index(view.node.op_type);
}

Shape with_rank(const Shape& s, size_t rank) {
  Shape r(rank > s.size() ? rank - s.size() : 0, 1);
  r.insert(r.end(), s.begin(), s.end());
  return r;
}

void PostOpChain::add_binary(dnnl::algorithm alg, size_t input, const dnnl::memory::desc& md) {
  operands_.push_back({ops_.len(), input, md});
  ops_.append_binary(alg, md);
}

void PostOpChain::add_eltwise(dnnl::algorithm alg, float alpha, float beta) {
  ops_.append_eltwise(1.0f, alg, alpha, beta);
}

void PostOpChain::add_node_post_ops(const kernels::NodeView& view, const Shape& dst) {
  if (!view.node.has_attr(kPostOpsAttr)) return;
  bool summed = false;
  for (const std::string& entry : view.node.attr_strings(kPostOpsAttr)) {
    const std::vector<std::string> p = split(entry, ':');
    const std::string& name = p[0];
    auto want_params = [&](size_t n) {
      if (p.size() != n + 1)
        decline(std::string(kPostOpsAttr) + " entry '" + entry + "' needs " + std::to_string(n) +
                " parameters");
    };
    if (name == "relu") {
      want_params(0);
      add_eltwise(dnnl::algorithm::eltwise_relu, 0.0f, 0.0f);
    } else if (name == "clip") {
      want_params(2);
      const float lo = parse_float(entry, p[1]), hi = parse_float(entry, p[2]);
      add_eltwise(dnnl::algorithm::eltwise_clip, lo < hi ? lo : hi, hi);
    } else if (name == "sigmoid") {
      want_params(0);
      add_eltwise(dnnl::algorithm::eltwise_logistic, 0.0f, 0.0f);
    } else if (name == "hardswish") {
      want_params(0);
      add_eltwise(dnnl::algorithm::eltwise_hardswish, 0.0f, 0.0f);
    } else if (name == "hardsigmoid") {
      want_params(2);
      add_eltwise(dnnl::algorithm::eltwise_linear, parse_float(entry, p[1]),
                  parse_float(entry, p[2]));
      add_eltwise(dnnl::algorithm::eltwise_clip, 0.0f, 1.0f);
    } else if (name == "sum") {
      want_params(0);
      if (summed) decline(std::string(kPostOpsAttr) + " has more than one 'sum'");
      summed = true;
      const size_t index = sum_operand_index(view.node.op_type);
      if (view.inputs.size() != index + 1 || !view.inputs[index] || !view.inputs[index]->shape)
        decline(std::string(kPostOpsAttr) + " 'sum' needs the sum operand as input " +
                std::to_string(index) + " (the last one)");
      const ops::TensorInfo& s = *view.inputs[index];
      if (s.dtype != DType::kF32)
        decline("sum operand is " + std::string(dtype_name(s.dtype)) +
                "; only float32 is supported");
      if (s.shape->size() > dst.size())
        decline("sum operand " + shape_str(*s.shape) + " has a higher rank than the output " +
                shape_str(dst));
      const Shape shape = with_rank(*s.shape, dst.size());
      for (size_t d = 0; d < dst.size(); ++d)
        if (shape[d] != dst[d] && shape[d] != 1)
          decline("sum operand " + shape_str(*s.shape) + " does not broadcast to the output " +
                  shape_str(dst));
      add_binary(dnnl::algorithm::binary_add, index, plain_md(shape, dnnl::memory::data_type::f32));
    } else {
      decline(std::string(kPostOpsAttr) + " entry '" + entry + "' is not a known post-op");
    }
  }
}

void PostOpChain::bind(OnednnKernel& kernel, Args& args) const {
  for (const auto& o : operands_)
    args[DNNL_ARG_ATTR_MULTIPLE_POST_OP(o.position) | DNNL_ARG_SRC_1] =
        kernel.bind_input(o.input, o.md);
}

}  // namespace frugal::kernels::cpu
