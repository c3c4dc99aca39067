// The `cuda` backend: Conv on cuDNN, Gemm/MatMul on cuBLASLt, the rest of the zoo CNNs'
// operators on own kernels (cuda_kernels.cu), float32 at every boundary. `cuda:tf32`,
// `cuda:fp16` and `cuda:bf16` are the same backend with Conv/Gemm/MatMul computed in that
// format (float32 accumulation). Nodes it cannot run are declined with the reason, so that
// the next backend of the list takes them. Without a GPU the backend cannot be made: the
// factory's UserError carries cudaGetDeviceCount's reason (runtime/plan.cpp falls back to
// the rest of the list, or reports it when nothing is left). docs/cuda.md.
#include <map>
#include <string>

#include "frugal/kernels/accelerator.h"
#include "frugal/kernels/cuda/cuda_build.h"
#include "frugal/kernels/cuda/host_plan.h"

namespace frugal::kernels::cuda {

const char* precision_name(Precision p) {
  switch (p) {
    case Precision::kTF32:
      return "tf32";
    case Precision::kF16:
      return "fp16";
    case Precision::kBF16:
      return "bf16";
    case Precision::kI8:
      return "int8";
    default:
      return "fp32";
  }
}

Storage storage_of(Precision p) {
  return p == Precision::kF16    ? Storage::kF16
         : p == Precision::kBF16 ? Storage::kBF16
                                 : Storage::kF32;
}

size_t storage_size(Storage s) {
  return s == Storage::kF32 || s == Storage::kI32 ? 4 : 2;
}

const Tensor* Build::constant(size_t i) const {
  if (!has_input(i) || !view.inputs[i]->value) return nullptr;
  return &*view.inputs[i]->value;
}

CudaKernel::CudaKernel(const Build& b)
    : device_(b.device), constants_(b.view.inputs.size()), host_only_(b.view.inputs.size(), false) {
  for (size_t i = 0; i < constants_.size(); ++i) host_only_[i] = b.constant(i) != nullptr;
  for (size_t i :
       inputs_read_on_device(b.node().op_type, b.precision == Precision::kI8, constants_.size())) {
    const Tensor* c = b.constant(i);
    if (!c) continue;
    host_only_[i] = false;
    if (c->nbytes() > 0) constants_[i] = device_.upload(c->raw(), c->nbytes());
  }
}

const void* CudaKernel::constant_ptr(size_t i) const {
  return i < constants_.size() ? constants_[i].get() : nullptr;
}

const void* CudaKernel::in_raw(const ops::KernelContext& ctx, size_t i) const {
  if (const void* c = constant_ptr(i)) return c;
  // A constant left on the host: its tensor's memory is not the GPU's.
  if (i < host_only_.size() && host_only_[i])
    throw InternalError("cuda: " + impl_ + " reads constant input " + std::to_string(i) +
                        " on the GPU, but host_plan.h does not upload it");
  return ctx.input(i).raw();
}

const float* CudaKernel::in(const ops::KernelContext& ctx, size_t i) const {
  return static_cast<const float*>(in_raw(ctx, i));
}

float* CudaKernel::out(ops::KernelContext& ctx, size_t o) const {
  return static_cast<float*>(ctx.output(o).raw());
}

Epilogue epilogue_of(const Build& b) {
  Epilogue e;
  const auto post = ops::post_ops_of(b.node());
  if (post.size() > static_cast<size_t>(kMaxPostOps))
    decline(std::to_string(post.size()) + " post-ops (at most " + std::to_string(kMaxPostOps) +
            ")");
  for (const auto& p : post) {
    DevicePostOp d{DevicePostOp::kRelu, p.a, p.b};
    switch (p.kind) {
      case ops::PostOp::Kind::kRelu:
        d.kind = DevicePostOp::kRelu;
        break;
      case ops::PostOp::Kind::kLeakyRelu:
        d.kind = DevicePostOp::kLeakyRelu;
        break;
      case ops::PostOp::Kind::kClip:
        d.kind = DevicePostOp::kClip;
        break;
      case ops::PostOp::Kind::kSigmoid:
        d.kind = DevicePostOp::kSigmoid;
        break;
      case ops::PostOp::Kind::kHardSwish:
        d.kind = DevicePostOp::kHardSwish;
        break;
      case ops::PostOp::Kind::kHardSigmoid:
        d.kind = DevicePostOp::kHardSigmoid;
        break;
      case ops::PostOp::Kind::kSwish:
        d.kind = DevicePostOp::kSwish;
        break;
      case ops::PostOp::Kind::kGelu:
        d.kind = DevicePostOp::kGeluErf;
        break;
      case ops::PostOp::Kind::kGeluTanh:
        d.kind = DevicePostOp::kGeluTanh;
        break;
      case ops::PostOp::Kind::kLinear:
        d.kind = DevicePostOp::kLinear;
        break;
      case ops::PostOp::Kind::kSum: {
        d.kind = DevicePostOp::kSum;
        const size_t s = ops::sum_operand_index(b.node().op_type);
        if (!b.has_input(s)) decline("no sum operand");
        const Shape& y = b.out_shape();
        if (b.in_shape(s) == y) break;
        // A row along the last axis (MatMul's bias, fused from the Add after it).
        if (y.empty() || shape_numel(b.in_shape(s)) != y.back() || b.in_shape(s).back() != y.back())
          decline("sum operand " + shape_str(b.in_shape(s)) + " broadcast to " + shape_str(y) +
                  " other than along the last axis");
        e.sum_period = y.back();
        break;
      }
    }
    e.ops[e.count++] = d;
  }
  return e;
}

namespace {

struct OpEntry {
  Factory make;
  bool post_ops;                  // accepts "frugal.post_ops"
  size_t data_inputs = SIZE_MAX;  // inputs that must be float32 (the rest: int64 shapes, ...)
};

const std::map<std::string, OpEntry>& op_table() {
  static const std::map<std::string, OpEntry> table{
      {"Conv", {make_conv, true}},
      {"ConvTranspose", {make_conv, true}},
      {"Gemm", {make_gemm, true}},
      {"MatMul", {make_matmul, true}},
      {"MaxPool", {make_max_pool, false}},
      {"AveragePool", {make_average_pool, false}},
      {"GlobalAveragePool", {make_global_average_pool, false}},
      {"GlobalMaxPool", {make_global_max_pool, false}},
      {"BatchNormalization", {make_batch_norm, true}},
      {"Relu", {make_unary, false}},
      {"LeakyRelu", {make_unary, false}},
      {"Clip", {make_unary, false, 1}},
      {"Sigmoid", {make_unary, false}},
      {"Tanh", {make_unary, false}},
      {"HardSwish", {make_unary, false}},
      {"HardSigmoid", {make_unary, false}},
      {"Gelu", {make_unary, false}},
      {"LayerNormalization", {make_layer_norm, false}},
      {"frugal.Attention", {make_attention, false}},  // fused by passes/fuse_patterns.h
      {"Add", {make_binary, false}},
      {"Sub", {make_binary, false}},
      {"Mul", {make_binary, false}},
      {"Div", {make_binary, false}},
      {"Softmax", {make_softmax, false}},
      {"LogSoftmax", {make_softmax, false}},
      {"Concat", {make_concat, false}},
      {"Split", {make_split, false, 1}},
      {"Resize", {make_resize, false, 1}},
      {"Upsample", {make_resize, false, 1}},
      {"Transpose", {make_transpose, false}},
      {"Gather", {make_gather, false, 1}},
      {"Reshape", {make_reshape, false, 1}},
      {"Flatten", {make_reshape, false}},
      {"Squeeze", {make_reshape, false, 1}},
      {"Unsqueeze", {make_reshape, false, 1}},
  };
  return table;
}

void check_common(const NodeView& v, const OpEntry& entry) {
  if (v.dynamic) decline("shapes known only at run time are not supported");
  if (!entry.post_ops && v.node.has_attr(ops::kPostOpsAttr))
    decline(std::string(ops::kPostOpsAttr) + " on " + v.node.op_type + " not implemented");
  auto check_value = [&](const ops::TensorInfo* t) {
    if (!t) return;
    if (!t->shape) decline("shapes known only at run time are not supported");
    if (t->dtype != DType::kF32) decline(std::string(dtype_name(t->dtype)) + " not supported");
    if (shape_numel(*t->shape) == 0) decline("empty tensor " + shape_str(*t->shape));
    if (t->shape->size() > static_cast<size_t>(kMaxRank))
      decline("rank " + std::to_string(t->shape->size()) + " above " + std::to_string(kMaxRank));
  };
  for (size_t i = 0; i < v.inputs.size() && i < entry.data_inputs; ++i) check_value(v.inputs[i]);
  for (size_t o = 0; o < v.outputs.size(); ++o) check_value(v.outputs[o]);
}

class CudaBackend final : public Backend {
 public:
  CudaBackend(std::string name, Precision precision, BackendConfig config)
      : name_(std::move(name)), precision_(precision), config_(std::move(config)), device_(gpu()) {}

  std::string name() const override { return name_; }
  const Device& device() const override { return device_; }

  std::unique_ptr<Kernel> create(const NodeView& view, std::string& why_not) override {
    const auto& table = op_table();
    // ONNX operators by name, frugal's own as "frugal.NAME".
    const std::string& domain = view.node.domain;
    auto it = domain.empty() || domain == "ai.onnx" ? table.find(view.node.op_type)
              : domain == "frugal"                  ? table.find("frugal." + view.node.op_type)
                                                    : table.end();
    if (it == table.end()) {
      why_not = "no cuda kernel for " + view.node.op_type;
      return nullptr;
    }
    if (precision_ == Precision::kI8 && view.node.op_type != "Gemm" &&
        view.node.op_type != "MatMul" && view.node.op_type != "Conv") {
      why_not = "int8 runs Conv, Gemm and MatMul only";
      return nullptr;
    }
    try {
      check_common(view, it->second);
      return it->second.make(Build{view, precision_, device_, config_});
    } catch (const Declined& d) {
      why_not = view.node.op_type + ": " + d.why;
    }
    return nullptr;
  }

 private:
  std::string name_;
  Precision precision_;
  BackendConfig config_;
  const CudaDevice& device_;
};

BackendFactory factory(const std::string& name, Precision precision) {
  return [name, precision](const BackendConfig& config) -> std::unique_ptr<Backend> {
    if (probe().devices == 0) throw UserError("no GPU here (" + probe().reason + ")");
    return std::make_unique<CudaBackend>(name, precision, config);
  };
}

BackendTraits variant_traits(const char* format) {
  BackendTraits t;
  t.base = "cuda";
  t.format = format;
  t.available = [] { return probe().devices > 0; };
  return t;
}

}  // namespace

// `auto` takes the GPU first where there is one (then cpu, then ref).
FRUGAL_REGISTER_BACKEND(cuda, "cuda", factory("cuda", Precision::kF32), [] {
  BackendTraits t;
  t.auto_rank = 0;
  t.available = [] { return probe().devices > 0; };
  t.variants = {
      {"tf32", "cuda:tf32"}, {"fp16", "cuda:fp16"}, {"bf16", "cuda:bf16"}, {"int8", "cuda:int8"}};
  return t;
}());
// The Record's `gpu` field: the GPU, CUDA driver API and runtime, cuDNN and cuBLASLt.
static const bool cuda_info_registered = (register_accelerator_info([]() -> AcceleratorInfo {
                                            if (probe().devices == 0) return {};
                                            return gpu_versions();
                                          }),
                                          true);
FRUGAL_REGISTER_BACKEND(cuda_tf32, "cuda:tf32", factory("cuda:tf32", Precision::kTF32),
                        variant_traits("tf32"));
FRUGAL_REGISTER_BACKEND(cuda_fp16, "cuda:fp16", factory("cuda:fp16", Precision::kF16),
                        variant_traits("fp16"));
FRUGAL_REGISTER_BACKEND(cuda_bf16, "cuda:bf16", factory("cuda:bf16", Precision::kBF16),
                        variant_traits("bf16"));
// int8 takes Conv (any group count), Gemm and MatMul only (partial: cuda follows it in a list) and
// reads the calibrated activation ranges (a QDQ model's pairs fold into them).
FRUGAL_REGISTER_BACKEND(cuda_int8, "cuda:int8", factory("cuda:int8", Precision::kI8), [] {
  BackendTraits t = variant_traits("int8");
  t.partial = true;
  t.reads_ranges = true;
  return t;
}());

}  // namespace frugal::kernels::cuda
