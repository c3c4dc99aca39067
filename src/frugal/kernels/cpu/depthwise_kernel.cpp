// Which Conv nodes frugal's own depthwise kernel runs (depthwise.h), its weights packed
// once, and the OnednnKernel that wraps it: the same boundary conversions and layout
// negotiation as oneDNN's convolution, the primitive replaced by a function step.
// No implementation wins everywhere (bench/RESULTS.md, "Depthwise convolutions"):
// FRUGAL_OWN_DW=auto times them once per node geometry when the kernel is built and runs
// the fastest; on|padded|direct force the own kernel; the default keeps oneDNN's.
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <map>
#include <mutex>

#include "frugal/kernels/cpu/depthwise.h"
#include "frugal/kernels/cpu/own_loop.h"
#include "frugal/kernels/cpu/threads.h"

namespace frugal::kernels::cpu {

bool dw_post_ops_cover(const std::vector<ops::PostOp>& ops) {
  using K = ops::PostOp::Kind;
  for (const ops::PostOp& op : ops)
    if (op.kind == K::kSum || op.kind == K::kGelu || op.kind == K::kGeluTanh) return false;
  return true;
}

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
  if (md != dnnl::memory::desc(d, dt::f32, tag::nhwc))
    not_covered("oneDNN chose a layout other than NHWC");
  return {h * w * c, w * c, c, 16};
}

// The post-ops the loop applies (declines sum and GELU: oneDNN keeps those nodes).
std::vector<ops::PostOp> covered_post_ops(const ir::Node& node) {
  if (!ops::has_post_ops(node)) return {};
  std::vector<ops::PostOp> list = ops::post_ops_of(node);
  if (!dw_post_ops_cover(list)) not_covered("post-op sum or GELU");
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

// Items split evenly over the backend's threads.
void run_plan(const DwPlan& p, const float* src, float* dst) {
  parallel_split(num_threads(), dw_items(p),
                 [&](int64_t begin, int64_t end) { dw_run_avx512(p, src, dst, begin, end); });
}

// FRUGAL_OWN_DW: "auto" (the fastest of the own kernel's two variants and oneDNN's,
// measured per node, below), "on" (the own kernel wherever it covers the node: padded rows
// at stride 1, in place at stride 2), "padded" or "direct" (that variant); unset or
// anything else: oneDNN's everywhere. Not auto by default: the isolated timings favour the
// own kernel (hot caches), and in whole models under auto it was no faster than oneDNN's
// (bench/RESULTS.md, "Depthwise convolutions"), while measuring costs session init time.
enum class Mode { kAuto, kOn, kPadded, kDirect, kOff };
Mode mode() {
  const char* v = std::getenv("FRUGAL_OWN_DW");
  const std::string s = v ? v : "";
  return s == "auto"     ? Mode::kAuto
         : s == "on"     ? Mode::kOn
         : s == "padded" ? Mode::kPadded
         : s == "direct" ? Mode::kDirect
                         : Mode::kOff;
}

double elapsed_ms(const std::function<void()>& f) {
  const auto t0 = std::chrono::steady_clock::now();
  f();
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
}

struct Timing {
  double padded_ms = INFINITY, direct_ms = INFINITY, onednn_ms = INFINITY;
};

// The three implementations on scratch buffers of the node's layouts (zeros: the same
// work), in turn, the fastest of 5 runs each after 2 warm-ups: the least disturbed figure
// on a shared machine.
Timing measure(const DwPlan& plan, const dnnl::convolution_forward::primitive_desc& pd,
               Context& context) {
  const dnnl::engine& engine = context.engine();
  Args args;
  auto zeros = [&](int arg, const dnnl::memory::desc& md) {
    dnnl::memory m(md, engine);
    std::memset(m.get_data_handle(), 0, md.get_size());
    args[arg] = m;
  };
  zeros(DNNL_ARG_SRC, pd.src_desc());
  zeros(DNNL_ARG_DST, pd.dst_desc());
  zeros(DNNL_ARG_WEIGHTS, pd.weights_desc());
  if (pd.bias_desc().get_size() > 0) zeros(DNNL_ARG_BIAS, pd.bias_desc());
  if (pd.scratchpad_desc().get_size() > 0) zeros(DNNL_ARG_SCRATCHPAD, pd.scratchpad_desc());
  const dnnl::convolution_forward prim(pd);
  const auto* src = static_cast<const float*>(args[DNNL_ARG_SRC].get_data_handle());
  auto* dst = static_cast<float*>(args[DNNL_ARG_DST].get_data_handle());
  DwPlan padded = plan, direct = plan;
  padded.padded = true;
  direct.padded = false;
  const std::function<void()> run[3] = {[&] { run_plan(padded, src, dst); },
                                        [&] { run_plan(direct, src, dst); },
                                        [&] {
                                          prim.execute(context.stream(), args);
                                          context.stream().wait();
                                        }};
  Timing t;
  double* slot[3] = {&t.padded_ms, &t.direct_ms, &t.onednn_ms};
  for (int r = 0; r < 7; ++r)
    for (int i = 0; i < 3; ++i) {
      const double ms = elapsed_ms(run[i]);
      if (r >= 2) *slot[i] = std::min(*slot[i], ms);
    }
  return t;
}

std::string format_ms(double ms) {
  char s[32];
  std::snprintf(s, sizeof s, "%.3f", ms);
  return s;
}

// The measurement per node geometry, post-ops and thread count, once per process (a
// model's repeated blocks and every later Session reuse it).
Timing measured(const Build& b, const DwPlan& plan,
                const dnnl::convolution_forward::primitive_desc& pd) {
  std::string key = shape_str(b.in_shape(0)) + " k" + std::to_string(plan.kernel) + " s" +
                    std::to_string(plan.stride) + " p" + std::to_string(plan.pad_top) + "," +
                    std::to_string(plan.pad_left) + " t" + std::to_string(num_threads());
  for (const ops::PostOp& op : plan.post_ops) key += " " + std::to_string(int(op.kind));
  static std::mutex mutex;
  static std::map<std::string, Timing> cache;
  std::lock_guard<std::mutex> lock(mutex);
  auto it = cache.find(key);
  if (it == cache.end()) it = cache.emplace(key, measure(plan, pd, *b.context)).first;
  return it->second;
}

}  // namespace

std::unique_ptr<kernels::Kernel> make_own_depthwise(
    const Build& b, const ops::WindowGeometry& g,
    const dnnl::convolution_forward::primitive_desc& pd, std::string& note) {
  const Mode m = mode();
  if (m == Mode::kOff || !dw_isa_available()) return nullptr;
  auto plan = std::make_shared<DwPlan>();
  try {
    *plan = plan_of(b, g, pd.src_desc(), pd.dst_desc());
  } catch (const NotCovered&) {
    return nullptr;  // not a depthwise case of the own kernel: oneDNN's, without a note
  }
  plan->padded = m == Mode::kPadded || (m == Mode::kOn && plan->stride == 1);
  std::string measured_note;
  if (m == Mode::kAuto) {
    const Timing t = measured(b, *plan, pd);
    measured_note = "measured: own padded " + format_ms(t.padded_ms) + " ms, own direct " +
                    format_ms(t.direct_ms) + " ms, oneDNN " + format_ms(t.onednn_ms) + " ms";
    if (t.onednn_ms <= std::min(t.padded_ms, t.direct_ms)) {
      note = measured_note;
      return nullptr;
    }
    plan->padded = t.padded_ms <= t.direct_ms;
  }
  std::string label = std::string("loop:dw_avx512:nhwc:") + (plan->padded ? "padded" : "direct");
  if (!measured_note.empty()) label += " [" + measured_note + "]";
  return own_loop_kernel(
      b, pd.src_desc(), pd.dst_desc(),
      [plan](const float* src, float* dst) { run_plan(*plan, src, dst); }, label);
}

}  // namespace frugal::kernels::cpu
