// Which MaxPool nodes the own NHWC loop runs (max_pool.h), and the OnednnKernel that wraps
// it: the same boundary conversions and layout negotiation as oneDNN's pooling primitive,
// the primitive replaced by a function step.
#include <cstdlib>
#include <string>

#include "frugal/kernels/cpu/max_pool.h"
#include "frugal/kernels/cpu/own_loop.h"
#include "frugal/kernels/cpu/threads.h"

namespace frugal::kernels::cpu {
namespace {

using dt = dnnl::memory::data_type;

bool switched_off() {
  const char* v = std::getenv("FRUGAL_NO_OWN_MAXPOOL");
  return v && std::string(v) == "1";
}

bool is_nhwc(const dnnl::memory::desc& md) {
  return md.dims().size() == 4 &&
         md == dnnl::memory::desc(md.dims(), dt::f32, dnnl::memory::format_tag::nhwc);
}

MaxPoolPlan plan_of(const Build& b, const ops::WindowGeometry& g) {
  const Shape& x = b.in_shape(0);
  const Shape& y = b.out_shape(0);
  MaxPoolPlan p;
  p.n = x[0];
  p.channels = x[1];
  p.in_h = x[2];
  p.in_w = x[3];
  p.out_h = y[2];
  p.out_w = y[3];
  p.kernel_h = g.kernel[0];
  p.kernel_w = g.kernel[1];
  p.stride_h = g.strides[0];
  p.stride_w = g.strides[1];
  p.dilation_h = g.dilations[0];
  p.dilation_w = g.dilations[1];
  p.pad_top = g.pad_begin[0];
  p.pad_left = g.pad_begin[1];
  return p;
}

// Output rows split evenly over the backend's threads.
void run_plan(const MaxPoolPlan& p, const float* src, float* dst) {
  parallel_split(num_threads(), p.n * p.out_h, [&](int64_t begin, int64_t end) {
    max_pool_nhwc_avx512(p, src, dst, begin, end);
  });
}

}  // namespace

std::unique_ptr<kernels::Kernel> make_own_max_pool(
    const Build& b, const ops::WindowGeometry& g,
    const dnnl::pooling_v2_forward::primitive_desc& pd) {
  if (switched_off() || !max_pool_isa_available() || g.rank() != 2 || !is_nhwc(pd.src_desc()) ||
      !is_nhwc(pd.dst_desc()))
    return nullptr;
  auto plan = std::make_shared<MaxPoolPlan>(plan_of(b, g));
  return own_loop_kernel(
      b, pd.src_desc(), pd.dst_desc(),
      [plan](const float* src, float* dst) { run_plan(*plan, src, dst); },
      "loop:maxpool_avx512:nhwc");
}

}  // namespace frugal::kernels::cpu
