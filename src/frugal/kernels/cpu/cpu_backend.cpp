// The `cpu` backend: oneDNN primitives for the dense operators and the common
// elementwise ones, float32 at every boundary. `cpu:bf16` is the same backend with Conv,
// ConvTranspose, Gemm and MatMul computed from bfloat16 sources and weights (float32
// accumulation and outputs). Nodes it cannot run are declined with the reason, so that
// the Session falls back to the next backend (ref) and reports why.
#include <cstdint>
#include <map>
#include <string>

#include "frugal/kernels/cpu/activation_factories.h"
#include "frugal/kernels/cpu/data_movement_factories.h"
#include "frugal/kernels/cpu/factories.h"
#include "frugal/kernels/cpu/post_ops.h"
#include "frugal/kernels/cpu/reduce_factories.h"
#include "frugal/kernels/cpu/resize_factories.h"
#include "frugal/kernels/cpu/rms_norm.h"
#include "frugal/kernels/cpu/sparse_kernels.h"
#include "frugal/kernels/cpu/squeeze_excite.h"
#include "frugal/ops/binary_layer.h"
#include "frugal/ops/block_circulant.h"
#include "frugal/ops/squeeze_excite.h"

namespace frugal::kernels::cpu {

const Shape& Build::in_shape(size_t i) const {
  return *view.inputs.at(i)->shape;
}
const Shape& Build::out_shape(size_t i) const {
  return *view.outputs.at(i)->shape;
}
const Tensor* Build::constant(size_t i) const {
  if (!has_input(i) || !view.inputs[i]->value) return nullptr;
  return &*view.inputs[i]->value;
}
const dnnl::memory::desc* Build::hint(size_t i) const {
  if (!native || !has_input(i)) return nullptr;
  auto it = native->find(view.node.inputs[i]);
  return it == native->end() ? nullptr : &it->second;
}
dnnl::memory::data_type Build::compute_type() const {
  return precision == Precision::kBF16 ? dnnl::memory::data_type::bf16
                                       : dnnl::memory::data_type::f32;
}

namespace {

struct OpEntry {
  Factory make;
  bool post_ops;  // accepts "frugal.post_ops"
  // Inputs holding the data (float32 tensors); the rest are read by the factory (Split's
  // int64 sizes).
  size_t data_inputs = SIZE_MAX;
  bool any_dtype = false;  // data of any fixed-size dtype (copies), not only float32
};

const std::map<std::string, OpEntry>& op_table() {
  static const std::map<std::string, OpEntry> table{
      {"Conv", {make_conv, true}},
      {"ConvTranspose", {make_conv_transpose, true}},
      {"Gemm", {make_gemm, true}},
      {"MatMul", {make_matmul, true}},
      {"DynamicQuantizeLinear", {make_dynamic_quantize_linear, false, SIZE_MAX, true}},
      {"MatMulInteger", {make_matmul_integer, false, SIZE_MAX, true}},
      {"ConvInteger", {make_conv_integer, false, SIZE_MAX, true}},
      {"Cast", {make_cast, false, SIZE_MAX, true}},
      {"MaxPool", {make_max_pool, false}},
      {"AveragePool", {make_average_pool, false}},
      {"GlobalAveragePool", {make_global_average_pool, false}},
      {"GlobalMaxPool", {make_global_max_pool, false}},
      {"BatchNormalization", {make_batch_norm_inference, true}},
      {"LayerNormalization", {make_layer_norm, false}},
      {"RMSNormalization", {make_rms_norm, false, 1}},  // rms_norm_kernel.cpp; Scale constant
      {"LRN", {make_lrn, false}},
      {"Softmax", {make_softmax, false}},
      {"LogSoftmax", {make_log_softmax, false}},
      {"Relu", {make_relu, false}},
      {"Clip", {make_clip, false}},
      {"Sigmoid", {make_sigmoid, false}},
      {"HardSwish", {make_hard_swish, false}},
      {"Gelu", {make_gelu, false}},
      {"HardSigmoid", {make_hard_sigmoid, false}},
      {"Add", {make_add, false}},
      {"Mul", {make_mul, false}},
      {"Sub", {make_sub, false}},
      {"Div", {make_div, false}},
      {"Concat", {make_concat, false}},
      {"Transpose", {make_transpose, false}},
      {"Split", {make_split, false, 1}},
      {"Reshape", {make_reshape, false, 1}},
      {"Flatten", {make_reshape, false}},
      {"Squeeze", {make_reshape, false, 1}},  // the axes input (opset 13) read by shape inference
      {"Unsqueeze", {make_reshape, false, 1}},
      {"LSTM", {make_lstm, false, 4}},  // from sequence_lens on, checked by the factory
      {"GRU", {make_gru, false, 4}},
      {"RNN", {make_rnn, false, 4}},
      // Moved from ref in session 11 (activation_kernels.cpp).
      {"Tanh", {make_tanh, false}},
      {"LeakyRelu", {make_leaky_relu, false}},
      {"Elu", {make_elu, false}},
      {"Selu", {make_selu, false}},
      {"Softplus", {make_softplus, false}},
      {"Mish", {make_mish, false}},
      {"Exp", {make_exp, false}},
      {"Sqrt", {make_sqrt, false}},
      {"Abs", {make_abs, false}},
      {"Neg", {make_neg, false}},
      {"PRelu", {make_prelu, false}},
      {"Pow", {make_pow, false, 1}},  // the exponent read by the factory
      {"Reciprocal", {make_reciprocal, false}},
      // slice_gather_kernels.cpp: the rest of the inputs read by the factory or at run time.
      {"Slice", {make_slice, false, 1, true}},
      {"Gather", {make_gather, false, 1, true}},
      {"Pad", {make_pad, false, 1, true}},           // pad_kernel.cpp
      {"ReduceMean", {make_reduce_mean, false, 1}},  // reduce_kernel.cpp
      // Moved from ref in session 12 (resize_kernel.cpp): scales/sizes read by the factory.
      {"Resize", {make_resize, false, 1}},
      {"Upsample", {make_resize, false, 1}},
      {"Sum", {make_sum, false}},  // variadic_kernel.cpp
      {"Mean", {make_mean, false}},
      {"Max", {make_max, false}},
      {"Min", {make_min, false}},
      {"DepthToSpace", {make_depth_space, false}},  // depth_space_kernel.cpp
      {"SpaceToDepth", {make_depth_space, false}},
      {"InstanceNormalization", {make_instance_norm, false}},  // instance_norm_kernel.cpp
  };
  return table;
}

// Operators of frugal's own domain: the binary layers (ops/binary_layer.h; their weight
// bits are uint64), Attention (ops/attention.cpp) and SqueezeExcite.
const std::map<std::string, OpEntry>& frugal_op_table() {
  static const std::map<std::string, OpEntry> table{
      {ops::binary::kGemm, {make_binary_gemm, false, 1}},
      {ops::binary::kConv, {make_binary_conv, false, 1}},
      {"Attention", {make_attention, false}},
      {ops::kBlockCirculant, {make_block_circulant, false}},  // ops/block_circulant.h
      {ops::kSqueezeExcite, {make_squeeze_excite, false}},    // ops/squeeze_excite.h
  };
  return table;
}

const OpEntry* entry_for(const ir::Node& n) {
  const std::map<std::string, OpEntry>* table = nullptr;
  if (n.domain.empty() || n.domain == "ai.onnx")
    table = &op_table();
  else if (n.domain == ops::binary::kDomain)
    table = &frugal_op_table();
  if (!table) return nullptr;
  auto it = table->find(n.op_type);
  return it == table->end() ? nullptr : &it->second;
}

// Declines what no kernel here handles: run-time shapes, other dtypes, empty tensors.
void check_common(const kernels::NodeView& v, const OpEntry& entry) {
  if (v.dynamic) decline("shapes known only at run time are not supported");
  if (!entry.post_ops && v.node.has_attr(kPostOpsAttr))
    decline(std::string(kPostOpsAttr) + " on " + v.node.op_type + " not implemented");
  auto check = [&](const ops::TensorInfo* t) {
    if (!t) return;
    if (!t->shape) decline("shapes known only at run time are not supported");
    const bool storable = t->dtype != DType::kString && t->dtype != DType::kUndefined;
    if (entry.any_dtype ? !storable : t->dtype != DType::kF32)
      decline(std::string(dtype_name(t->dtype)) + " not supported");
    if (shape_numel(*t->shape) == 0) decline("empty tensor " + shape_str(*t->shape));
  };
  for (size_t i = 0; i < v.inputs.size() && i < entry.data_inputs; ++i) check(v.inputs[i]);
  // Further outputs (MaxPool's Indices) are checked by their op's factory.
  if (!v.outputs.empty()) check(v.outputs[0]);
}

class CpuBackend final : public kernels::Backend {
 public:
  CpuBackend(std::string name, Precision precision, SparseSetting sparse = {})
      : name_(std::move(name)),
        precision_(precision),
        context_(std::make_shared<Context>()),
        sparse_(sparse) {}

  std::string name() const override { return name_; }

  std::unique_ptr<kernels::Kernel> create(const kernels::NodeView& view,
                                          std::string& why_not) override {
    const OpEntry* entry = entry_for(view.node);
    if (!entry) {
      why_not = "no cpu kernel for " + view.node.op_type;
      return nullptr;
    }
    try {
      check_common(view, *entry);
      // Sparse-weight kernels first (sparse_kernels.h); null keeps the dense one.
      SparseDecline sparse_why;
      if (auto sk = make_sparse(Build{view, context_, precision_, &native_}, sparse_, sparse_why))
        return sk;
      std::unique_ptr<kernels::Kernel> k = entry->make(Build{view, context_, precision_, &native_});
      if (auto* ok = dynamic_cast<OnednnKernel*>(k.get()); ok && sparse_why.note_on_dense)
        ok->add_note("sparse " + sparse_why.why);
      if (const auto* ok = dynamic_cast<const OnednnKernel*>(k.get()))
        for (size_t o = 0; o < view.node.outputs.size(); ++o)
          if (const dnnl::memory::desc* md = ok->native_output_desc(o))
            native_[view.node.outputs[o]] = *md;
      return k;
    } catch (const Declined& d) {
      why_not = view.node.op_type + ": " + d.why;
    } catch (const dnnl::error& e) {
      why_not =
          view.node.op_type + ": oneDNN has no implementation for this case (" + e.what() + ")";
    }
    return nullptr;
  }

 private:
  std::string name_;
  Precision precision_;
  std::shared_ptr<Context> context_;
  NativeLayouts native_;
  SparseSetting sparse_;
};

}  // namespace

// `auto` takes cpu before ref; --sparse is checked whichever backends are listed.
FRUGAL_REGISTER_BACKEND(
    cpu, "cpu",
    [](const kernels::BackendConfig& config) {
      return std::make_unique<CpuBackend>("cpu", Precision::kF32,
                                          parse_sparse_setting(config.sparse));
    },
    [] {
      kernels::BackendTraits t;
      t.auto_rank = 10;
      t.variants = {{"bf16", "cpu:bf16"}, {"int8", "cpu:int8"}};
      t.check_config = [](const kernels::BackendConfig& config) {
        parse_sparse_setting(config.sparse, "--sparse");
      };
      return t;
    }());
FRUGAL_REGISTER_BACKEND(
    cpu_bf16, "cpu:bf16",
    [](const kernels::BackendConfig&) {
      return std::make_unique<CpuBackend>("cpu:bf16", Precision::kBF16);
    },
    [] {
      kernels::BackendTraits t;
      t.base = "cpu";
      t.format = "bf16";
      return t;
    }());

}  // namespace frugal::kernels::cpu
