// Which Conv nodes frugal's own depthwise kernel runs (depthwise.h), its weights packed
// once, and the OnednnKernel that wraps it: the same boundary conversions and layout
// negotiation as oneDNN's convolution, the primitive replaced by a function step.
#include <cstdlib>

#include "frugal/kernels/cpu/depthwise.h"
#include "frugal/kernels/cpu/sparse_kernels.h"
#include "frugal/kernels/cpu/threads.h"

namespace frugal::kernels::cpu {
namespace {

using dt = dnnl::memory::data_type;
using tag = dnnl::memory::format_tag;

struct NotCovered {
  std::string why;
};
[[noreturn]] void not_covered(std::string why) {
  throw NotCovered{std::move(why)};
}

// The strides of `md` when it is NHWC (what oneDNN 2.6 picks for fp32 depthwise here).
DwStrides strides_of(const dnnl::memory::desc& md) {
  const dnnl::memory::dims d = md.dims();
  const int64_t c = d[1], h = d[2], w = d[3];
  if (md != dnnl::memory::desc(d, dt::f32, tag::nhwc)) not_covered("oneDNN chose a layout other than NHWC");
  return {h * w * c, w * c, c, 16};
}

// The post-ops the loop applies (declines sum and GELU: oneDNN keeps those nodes).
std::vector<ops::PostOp> covered_post_ops(const ir::Node& node) {
  if (!ops::has_post_ops(node)) return {};
  std::vector<ops::PostOp> list = ops::post_ops_of(node);
  using K = ops::PostOp::Kind;
  for (const ops::PostOp& op : list)
    if (op.kind == K::kSum || op.kind == K::kGelu || op.kind == K::kGeluTanh)
      not_covered("post-op sum or GELU");
  return list;
}

void check_geometry(const Build& b, const ops::WindowGeometry& g) {
  const Shape& x = b.in_shape(0);
  const Shape& w = b.in_shape(1);
  if (x.size() != 4) not_covered("not 2-D");
  const int64_t group = b.node().attr_int("group", 1);
  if (group != x[1] || w[0] != x[1] || w[1] != 1) not_covered("not depthwise");
  if (g.kernel[0] != g.kernel[1] || (g.kernel[0] != 3 && g.kernel[0] != 5 && g.kernel[0] != 7))
    not_covered("kernel not 3x3, 5x5 or 7x7");
  if (g.strides[0] != g.strides[1] || (g.strides[0] != 1 && g.strides[0] != 2))
    not_covered("strides not 1 or 2");
  if (g.dilations[0] != 1 || g.dilations[1] != 1) not_covered("dilated");
  if (b.compute_type() != dt::f32) not_covered("not float32");
  if (!b.constant(1) || (b.has_input(2) && !b.constant(2))) not_covered("weights not constant");
}

// Weights C x 1 x K x K as [block][kh][kw][16], bias as [block * 16], zero-padded.
void pack(const Build& b, DwPlan& p) {
  const int64_t taps = p.kernel * p.kernel;
  p.weights.assign(static_cast<size_t>(p.blocks * taps * 16), 0.0f);
  p.bias.assign(static_cast<size_t>(p.blocks * 16), 0.0f);
  const Tensor* w = b.constant(1);
  for (int64_t c = 0; c < p.channels; ++c)
    for (int64_t t = 0; t < taps; ++t)
      p.weights[static_cast<size_t>(((c / 16) * taps + t) * 16 + c % 16)] =
          static_cast<float>(w->at_double(c * taps + t));
  if (const Tensor* bias = b.has_input(2) ? b.constant(2) : nullptr)
    for (int64_t c = 0; c < p.channels; ++c)
      p.bias[static_cast<size_t>(c)] = static_cast<float>(bias->at_double(c));
}

DwPlan plan_of(const Build& b, const ops::WindowGeometry& g, const dnnl::memory::desc& src,
               const dnnl::memory::desc& dst) {
  check_geometry(b, g);
  DwPlan p;
  p.post_ops = covered_post_ops(b.node());
  const Shape& x = b.in_shape(0);
  const Shape& y = b.out_shape(0);
  p.n = x[0];
  p.channels = x[1];
  p.blocks = (p.channels + 15) / 16;
  p.in_h = x[2];
  p.in_w = x[3];
  p.out_h = y[2];
  p.out_w = y[3];
  p.kernel = static_cast<int>(g.kernel[0]);
  p.stride = static_cast<int>(g.strides[0]);
  p.pad_top = g.pad_begin[0];
  p.pad_left = g.pad_begin[1];
  p.src = strides_of(src);
  p.dst = strides_of(dst);
  pack(b, p);
  return p;
}

struct Call {
  const DwPlan* plan;
  const float* src;
  float* dst;
};

// Items split evenly over the backend's threads.
void run_plan(const DwPlan& p, const float* src, float* dst) {
  Call call{&p, src, dst};
  sparse_parallel(
      num_threads(),
      [](void* data, int t, int T) {
        const Call& c = *static_cast<const Call*>(data);
        const int64_t items = dw_items(*c.plan);
        dw_run_avx512(*c.plan, c.src, c.dst, items * t / T, items * (t + 1) / T);
      },
      &call);
}

}  // namespace

std::unique_ptr<kernels::Kernel> make_own_depthwise(const Build& b, const ops::WindowGeometry& g,
                                                    const dnnl::memory::desc& src,
                                                    const dnnl::memory::desc& dst,
                                                    std::string& why) {
  if (const char* off = std::getenv("FRUGAL_NO_OWN_DW"); off && *off && std::string(off) != "0") {
    why = "FRUGAL_NO_OWN_DW is set";
    return nullptr;
  }
  if (!dw_isa_available()) {
    why = "no AVX-512 on this CPU";
    return nullptr;
  }
  auto plan = std::make_shared<DwPlan>();
  try {
    *plan = plan_of(b, g, src, dst);
  } catch (const NotCovered& e) {
    why = e.why;
    return nullptr;
  }
  auto k = std::make_unique<OnednnKernel>(b.context);
  const dnnl::memory in = k->input_as(0, plain_md(b.in_shape(0), dt::f32), src);
  const dnnl::memory out = k->output_as(0, plain_md(b.out_shape(0), dt::f32), dst);
  k->add_function_step(
      [plan, in, out] {
        run_plan(*plan, static_cast<const float*>(in.get_data_handle()),
                 static_cast<float*>(out.get_data_handle()));
      },
      "cpu:loop:dw_avx512:nhwc");
  return k;
}

}  // namespace frugal::kernels::cpu
