// Cast on the cpu backend: ref's conversion (ops/elementwise.h `convert`: float to integer
// truncating, saturating and NaN to 0; integers wrapping; bool as nonzero) in a loop the
// backend's threads share. ONNX Runtime's dynamic quantization casts each int32
// accumulator to float (ISNet small: 119 Casts of up to 16 M values, on ref before). A cast
// to float16 / bfloat16 rounds to that grid in float32 storage (ops/cast.cpp).
#include <type_traits>

#include "frugal/kernels/cpu/factories.h"
#include "frugal/kernels/cpu/threads.h"
#include "frugal/ops/elementwise.h"

namespace frugal::kernels::cpu {
namespace {

using namespace ops::elementwise;

class CastKernel final : public kernels::Kernel {
 public:
  explicit CastKernel(DType to) : to_(to) {}
  void run(ops::KernelContext& ctx) override {
    const Tensor& x = ctx.input(0);
    Tensor& y = ctx.output(0);
    const int64_t n = x.numel();
    const int threads = n >= kMinPerThread ? num_threads() : 1;
    visit_types<kAllTypes>(x.dtype(), [&](auto from_tag) {
      using From = decltype(from_tag);
      visit_types<kAllTypes>(y.dtype(), [&](auto to_tag) {
        using To = decltype(to_tag);
        const From* src = x.data<From>();
        To* dst = y.data<To>();
        parallel_split(threads, n, [&](int64_t begin, int64_t end) {
          if constexpr (std::is_same_v<To, float>) {
            if (to_ != DType::kF32) {
              for (int64_t i = begin; i < end; ++i)
                dst[i] = round_to_held(to_, convert<To>(src[i]));
              return;
            }
          }
          for (int64_t i = begin; i < end; ++i) dst[i] = convert<To>(src[i]);
        });
      });
    });
  }
  std::string impl() const override { return "loop:cast"; }

 private:
  static constexpr int64_t kMinPerThread = int64_t{1} << 16;
  DType to_;  // the node's target (float16 / bfloat16 held as rounded float32)
};

}  // namespace

std::unique_ptr<kernels::Kernel> make_cast(const Build& b) {
  for (const ops::TensorInfo* t : {b.view.inputs.at(0), b.view.outputs.at(0)})
    if (type_class(t->dtype) == 0) decline(std::string(dtype_name(t->dtype)) + " not supported");
  return std::make_unique<CastKernel>(
      dtype_from_onnx(static_cast<int32_t>(b.node().attr_int("to"))));
}

}  // namespace frugal::kernels::cpu
