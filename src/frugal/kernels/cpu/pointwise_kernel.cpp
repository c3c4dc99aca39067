// Which Conv nodes the own pointwise kernel runs (pointwise.h), its weights packed once.
#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <memory>

#include "frugal/kernels/cpu/depthwise.h"
#include "frugal/kernels/cpu/own_loop.h"
#include "frugal/kernels/cpu/pointwise.h"
#include "frugal/kernels/cpu/threads.h"

namespace frugal::kernels::cpu {
namespace {

using dt = dnnl::memory::data_type;
using tag = dnnl::memory::format_tag;

// FRUGAL_OWN_PW=0 keeps oneDNN's primitive for every node (to compare).
bool enabled() {
  const char* v = std::getenv("FRUGAL_OWN_PW");
  return !(v && std::strcmp(v, "0") == 0);
}

bool covered(const Build& b, const ops::WindowGeometry& g,
             const dnnl::convolution_forward::primitive_desc& pd) {
  const Shape& x = b.in_shape(0);
  const Shape& w = b.in_shape(1);
  const Shape& y = b.out_shape(0);
  if (x.size() != 4 || w[2] != 1 || w[3] != 1 || b.node().attr_int("group", 1) != 1) return false;
  // Deeper inputs (GoogLeNet's 192 -> 16 and 480 -> 16) ran no faster than oneDNN's.
  if (y[1] > 16 || x[1] > 64 || b.compute_type() != dt::f32) return false;
  for (size_t d = 0; d < 2; ++d)
    if (g.strides[d] != 1 || g.dilations[d] != 1 || g.pad_begin[d] != 0 || g.pad_end[d] != 0)
      return false;
  if (!b.constant(1) || (b.has_input(2) && !b.constant(2))) return false;
  if (pd.src_desc() != dnnl::memory::desc(x, dt::f32, tag::nhwc) ||
      pd.dst_desc() != dnnl::memory::desc(y, dt::f32, tag::nhwc))
    return false;
  return !ops::has_post_ops(b.node()) || dw_post_ops_cover(ops::post_ops_of(b.node()));
}

}  // namespace

std::unique_ptr<kernels::Kernel> make_own_pointwise(
    const Build& b, const ops::WindowGeometry& g,
    const dnnl::convolution_forward::primitive_desc& pd) {
  if (!enabled() || !dw_isa_available() || !covered(b, g, pd)) return nullptr;
  const Shape& x = b.in_shape(0);
  const Shape& y = b.out_shape(0);
  auto plan = std::make_shared<PwPlan>();
  plan->pixels = y[0] * y[2] * y[3];
  plan->in_channels = x[1];
  plan->out_channels = y[1];
  plan->weights.assign(static_cast<size_t>(x[1] * 16), 0.0f);
  plan->bias.assign(16, 0.0f);
  const Tensor* w = b.constant(1);  // [out][in][1][1]
  for (int64_t o = 0; o < y[1]; ++o)
    for (int64_t i = 0; i < x[1]; ++i)
      plan->weights[static_cast<size_t>(i * 16 + o)] =
          static_cast<float>(w->at_double(o * x[1] + i));
  if (const Tensor* bias = b.has_input(2) ? b.constant(2) : nullptr)
    for (int64_t o = 0; o < y[1]; ++o)
      plan->bias[static_cast<size_t>(o)] = static_cast<float>(bias->at_double(o));
  if (ops::has_post_ops(b.node())) plan->post_ops = ops::post_ops_of(b.node());
  const int64_t blocks = (plan->pixels + PwPlan::kBlock - 1) / PwPlan::kBlock;
  // A block is 12 x in x 16 multiply-adds: threads only where each gets ~64 of them at 32
  // input channels.
  const int64_t min_blocks = std::max<int64_t>(1, 2048 / std::max<int64_t>(1, x[1]));
  return own_loop_kernel(
      b, pd.src_desc(), pd.dst_desc(),
      [plan, blocks, min_blocks](const float* src, float* dst) {
        const int threads = static_cast<int>(
            std::min<int64_t>(num_threads(), std::max<int64_t>(1, blocks / min_blocks)));
        parallel_split(threads, blocks, [&](int64_t begin, int64_t end) {
          pw_run_avx512(*plan, src, dst, begin, end);
        });
      },
      "loop:pw_avx512:nhwc");
}

}  // namespace frugal::kernels::cpu
