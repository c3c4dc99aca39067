// Sum and Mean of two or more inputs (older exports, the ONNX zoo's ResNets' Sum) as a
// chain of oneDNN binary primitives in one kernel: an input of the output's shape
// first, then each other input folded into the output in place (it may broadcast, as
// ONNX's multidirectional rule allows: its dimensions are 1 or the output's), and Mean's
// division as a scaling pass. Full-size inputs are read in their producers' layout when
// they all share one and oneDNN has a fast kernel there. Max and Min of inputs of one shape
// are an own loop: oneDNN 2.6's binary max/min return the second operand where the first is
// NaN, and ONNX propagates NaN from either (tests/ops/variadic_test.cpp); with a
// broadcasting input they stay on ref.
#include <algorithm>
#include <optional>
#include <string>
#include <vector>

#include "frugal/kernels/cpu/post_ops.h"
#include "frugal/kernels/cpu/resize_factories.h"
#include "frugal/kernels/cpu/sparse_kernels.h"
#include "frugal/kernels/cpu/threads.h"

namespace frugal::kernels::cpu {
namespace {

using dt = dnnl::memory::data_type;

// The blocked layout every full-size input's producer writes, or null.
const dnnl::memory::desc* shared_hint(const Build& b, const std::vector<Shape>& shapes,
                                      const Shape& out) {
  const dnnl::memory::desc* hint = nullptr;
  for (size_t i = 0; i < shapes.size(); ++i) {
    if (shapes[i] != out) continue;
    const dnnl::memory::desc* h = b.hint(i);
    if (!h || (hint && *h != *hint)) return nullptr;
    hint = h;
  }
  return hint;
}

dnnl::binary::primitive_desc binary_pd(const Build& b, dnnl::algorithm alg,
                                       const dnnl::memory::desc& acc,
                                       const dnnl::memory::desc& other) {
  return dnnl::binary::primitive_desc(dnnl::binary::desc(alg, acc, other, acc), scratchpad_attr(),
                                      b.context->engine());
}

std::unique_ptr<kernels::Kernel> variadic(const Build& b, dnnl::algorithm alg, bool mean) {
  const size_t n = b.view.inputs.size();
  if (n < 2) decline("one input (a copy) not implemented");
  const size_t rank = std::max<size_t>(1, b.out_shape(0).size());
  const Shape out = with_rank(b.out_shape(0), rank);
  std::vector<Shape> shapes;
  size_t first = n;
  for (size_t i = 0; i < n; ++i) {
    if (!b.has_input(i)) decline("an omitted input");
    shapes.push_back(with_rank(b.in_shape(i), rank));
    if (shapes[i] == out && first == n) first = i;
  }
  if (first == n) decline("no input has the output's shape (every input broadcasts)");
  const dnnl::memory::desc plain = plain_md(out, dt::f32);
  dnnl::memory::desc acc = plain;
  if (const dnnl::memory::desc* hint = shared_hint(b, shapes, out)) {
    try {  // oneDNN's reference loops over a blocked layout cost more than the reorders
      const size_t other = first == 0 ? 1 : 0;
      const dnnl::memory::desc md = shapes[other] == out ? *hint : plain_md(shapes[other], dt::f32);
      if (std::string(binary_pd(b, alg, *hint, md).impl_info_str()).rfind("ref", 0) != 0)
        acc = *hint;
    } catch (const dnnl::error&) {
    }
  }
  auto k = std::make_unique<OnednnKernel>(b.context);
  const dnnl::memory dst = k->output_as(0, plain, acc);
  dnnl::memory from = k->input_as(first, plain, acc);
  bool main = true;  // the first binary names the kernel's implementation
  for (size_t i = 0; i < n; ++i) {
    if (i == first) continue;
    const dnnl::memory::desc boundary = plain_md(shapes[i], dt::f32);
    const dnnl::memory::desc wanted = shapes[i] == out ? acc : boundary;
    const dnnl::binary::primitive_desc pd = binary_pd(b, alg, acc, wanted);
    k->add_step(pd, dnnl::binary(pd),
                Args{{DNNL_ARG_SRC_0, from},
                     {DNNL_ARG_SRC_1, k->input_as(i, boundary, wanted)},
                     {DNNL_ARG_DST, dst}},
                main);
    from = dst;
    main = false;
  }
  if (mean) {
    const dnnl::eltwise_forward::desc d(dnnl::prop_kind::forward_inference,
                                        dnnl::algorithm::eltwise_linear, acc,
                                        1.0f / static_cast<float>(n), 0.0f);
    const dnnl::eltwise_forward::primitive_desc pd(d, scratchpad_attr(), b.context->engine());
    k->add_step(pd, dnnl::eltwise_forward(pd), Args{{DNNL_ARG_SRC, dst}, {DNNL_ARG_DST, dst}},
                false);
  }
  return k;
}

// acc[i] = the larger (smaller) of acc[i] and x[i], NaN from either.
template <bool kMax>
__attribute__((target_clones("avx512f", "default"))) void extremum_into(float* acc, const float* x,
                                                                        int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    const float a = acc[i], b = x[i];
    const bool keep = (kMax ? a > b : a < b) || a != a;
    acc[i] = keep ? a : b;
  }
}

// Max or Min over inputs of the output's shape, plain, parallel over equal slices.
class ExtremumKernel final : public kernels::Kernel {
 public:
  ExtremumKernel(bool max, int64_t count) : max_(max), count_(count) {}
  void run(ops::KernelContext& ctx) override {
    float* y = ctx.output(0).data<float>();
    const int threads = static_cast<int>(
        std::clamp<int64_t>(count_ / min_floats_per_thread(), 1, int64_t{num_threads()}));
    parallel_split(threads, count_, [&](int64_t begin, int64_t end) {
      std::copy(ctx.input(0).data<float>() + begin, ctx.input(0).data<float>() + end, y + begin);
      for (size_t i = 1; i < ctx.num_inputs(); ++i) {
        const float* x = ctx.input(i).data<float>() + begin;
        if (max_)
          extremum_into<true>(y + begin, x, end - begin);
        else
          extremum_into<false>(y + begin, x, end - begin);
      }
    });
  }
  std::string impl() const override { return "loop:extremum"; }

 private:
  bool max_;
  int64_t count_;
};

std::unique_ptr<kernels::Kernel> extremum(const Build& b, bool max) {
  const size_t n = b.view.inputs.size();
  if (n < 2) decline("one input (a copy) not implemented");
  for (size_t i = 0; i < n; ++i) {
    if (!b.has_input(i)) decline("an omitted input");
    if (b.in_shape(i) != b.out_shape(0)) decline("a broadcasting input not implemented");
  }
  return std::make_unique<ExtremumKernel>(max, shape_numel(b.out_shape(0)));
}

}  // namespace

std::unique_ptr<kernels::Kernel> make_max(const Build& b) {
  return extremum(b, true);
}
std::unique_ptr<kernels::Kernel> make_min(const Build& b) {
  return extremum(b, false);
}

std::unique_ptr<kernels::Kernel> make_sum(const Build& b) {
  return variadic(b, dnnl::algorithm::binary_add, false);
}
std::unique_ptr<kernels::Kernel> make_mean(const Build& b) {
  return variadic(b, dnnl::algorithm::binary_add, true);
}

}  // namespace frugal::kernels::cpu
