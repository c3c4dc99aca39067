// `cpu:int8`: the cpu backend's int8 precision. It takes only what it quantizes (Conv,
// Gemm and MatMul with constant weights, and MaxPool and GlobalAveragePool, whose input has
// a calibrated range, see int8_kernels.h), and the quantized operators of graphs already in ONNX's
// QLinear form (QLinearConv, QuantizeLinear, DequantizeLinear); it declines every other node with
// the reason, so that a preference list such as cpu:int8,cpu,ref runs the rest in float32 and the
// plan shows why.
#include <map>
#include <string>

#include "frugal/kernels/cpu/int8_kernels.h"

namespace frugal::kernels::cpu {
namespace {

using Int8Factory = std::unique_ptr<kernels::Kernel> (*)(const Int8Build&);

struct Int8Op {
  Int8Factory make;
  bool float_io;  // float32 inputs and outputs (else the factory checks the dtypes)
};

const std::map<std::string, Int8Op>& int8_ops() {
  static const std::map<std::string, Int8Op> table{
      {"Conv", {make_int8_conv, true}},
      {"Gemm", {make_int8_gemm, true}},
      {"MatMul", {make_int8_matmul, true}},
      {"MaxPool", {make_int8_max_pool, true}},
      {"GlobalAveragePool", {make_int8_global_avg_pool, true}},
      {"QLinearConv", {make_qlinear_conv, false}},
      {"QuantizeLinear", {make_quantize_linear, false}},
      {"DequantizeLinear", {make_dequantize_linear, false}},
  };
  return table;
}

// Static shapes only, as the float32 cpu kernels.
void check_tensors(const kernels::NodeView& v, bool float_io) {
  if (v.dynamic) decline("shapes known only at run time are not supported");
  auto check = [&](const ops::TensorInfo* t) {
    if (!t) return;
    if (!t->shape) decline("shapes known only at run time are not supported");
    if (float_io && t->dtype != DType::kF32)
      decline(std::string(dtype_name(t->dtype)) + " not supported");
    if (shape_numel(*t->shape) == 0) decline("empty tensor " + shape_str(*t->shape));
  };
  for (const auto* t : v.inputs) check(t);
  for (const auto* t : v.outputs) check(t);
}

class Int8Backend final : public kernels::Backend {
 public:
  explicit Int8Backend(const kernels::BackendConfig& config)
      : ranges_(config.ranges), context_(std::make_shared<Context>()) {}

  std::string name() const override { return "cpu:int8"; }

  std::unique_ptr<kernels::Kernel> create(const kernels::NodeView& view,
                                          std::string& why_not) override {
    const auto& table = int8_ops();
    auto it = view.node.domain.empty() || view.node.domain == "ai.onnx"
                  ? table.find(view.node.op_type)
                  : table.end();
    if (it == table.end()) {
      why_not = view.node.op_type + ": not quantized: runs in fp32 on the next backend";
      return nullptr;
    }
    try {
      check_tensors(view, it->second.float_io);
      auto kernel = it->second.make(Int8Build{Build{view, context_, Precision::kF32}, ranges_});
      // MaxPool's output is its input's grid: its readers quantize with the input's range.
      if (view.node.op_type == "MaxPool")
        ranges_[view.node.outputs.at(0)] = ranges_.at(view.node.inputs.at(0));
      return kernel;
    } catch (const Declined& d) {
      why_not = view.node.op_type + ": " + d.why;
    } catch (const dnnl::error& e) {
      why_not = view.node.op_type + ": oneDNN has no int8 implementation for this case (" +
                e.what() + ")";
    }
    return nullptr;
  }

 private:
  std::map<std::string, ValueRange> ranges_;
  std::shared_ptr<Context> context_;
};

}  // namespace

FRUGAL_REGISTER_BACKEND(
    cpu_int8, "cpu:int8",
    [](const kernels::BackendConfig& config) { return std::make_unique<Int8Backend>(config); },
    [] {
      kernels::BackendTraits t;
      t.reads_ranges = true;
      t.base = "cpu";
      t.partial = true;  // Conv/Gemm/MatMul only: float32 cpu runs the rest
      t.format = "int8";
      return t;
    }());

}  // namespace frugal::kernels::cpu
