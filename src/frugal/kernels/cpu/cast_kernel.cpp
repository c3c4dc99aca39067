// Cast on the cpu backend: ref's conversion (ops/elementwise.h `convert`: float to integer
// truncating, saturating and NaN to 0; integers wrapping; bool as nonzero) in a loop the
// backend's threads share. ONNX Runtime's dynamic quantization casts each int32
// accumulator to float (ISNet small: 119 Casts of up to 16 M values, on ref before). A cast
// to float16 / bfloat16 rounds to that grid in float32 storage (ops/cast.cpp; vectorized,
// round_held.h); a cast to the type the value already has (float32 to float32: a float16
// model's cast back from its held float16) is a view: the output is the input's bytes
// (kernels/views.h). ISNet medium's 91 casts took 836 of 4168 ms, scalar and copying.
#include <type_traits>

#include "frugal/kernels/cpu/factories.h"
#include "frugal/kernels/cpu/round_held.h"
#include "frugal/kernels/cpu/threads.h"
#include "frugal/kernels/views.h"
#include "frugal/ops/elementwise.h"

namespace frugal::kernels::cpu {
namespace {

using namespace ops::elementwise;

class CastKernel final : public kernels::Kernel, public kernels::OutputAsView {
 public:
  CastKernel(DType to, bool same) : to_(to), same_(same) {}
  void run(ops::KernelContext& ctx) override {
    const Tensor& x = ctx.input(0);
    Tensor& y = ctx.output(0);
    const int64_t n = x.numel();
    const int threads = n >= kMinPerThread ? num_threads() : 1;
    if (to_ != DType::kF32 && x.dtype() == DType::kF32 && y.dtype() == DType::kF32 &&
        round_held_available()) {
      const float* src = x.data<float>();
      float* dst = y.data<float>();
      parallel_split(threads, n, [&](int64_t begin, int64_t end) {
        round_held_avx512(to_ == DType::kF16, src + begin, dst + begin, end - begin);
      });
      return;
    }
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
  std::string impl() const override {
    return same_ ? "view (a cast to its own type)" : "loop:cast";
  }
  std::optional<kernels::InputBytes> output_view(size_t index) const override {
    if (index != 0 || !same_) return std::nullopt;
    return kernels::InputBytes{0, 0};
  }

 private:
  static constexpr int64_t kMinPerThread = int64_t{1} << 16;
  DType to_;   // the node's target (float16 / bfloat16 held as rounded float32)
  bool same_;  // input and output of one type, nothing rounded: the bytes as they are
};

}  // namespace

std::unique_ptr<kernels::Kernel> make_cast(const Build& b) {
  for (const ops::TensorInfo* t : {b.view.inputs.at(0), b.view.outputs.at(0)})
    if (type_class(t->dtype) == 0) decline(std::string(dtype_name(t->dtype)) + " not supported");
  const DType to = dtype_from_onnx(static_cast<int32_t>(b.node().attr_int("to")));
  const bool same = b.view.inputs[0]->dtype == b.view.outputs[0]->dtype && held_type(to) == to;
  return std::make_unique<CastKernel>(to, same);
}

}  // namespace frugal::kernels::cpu
