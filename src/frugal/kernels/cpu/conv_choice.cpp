#include "frugal/kernels/cpu/conv_choice.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>
#include <vector>

#include "frugal/kernels/cpu/threads.h"

namespace frugal::kernels::cpu {
namespace {

using conv = dnnl::convolution_forward;

std::string env_value(const char* name) {
  const char* v = std::getenv(name);
  return v ? v : "";
}

// "brgconv:avx512_core" -> "avx512_core": candidates below the first's ISA are never faster.
std::string isa_of(const std::string& impl) {
  const size_t colon = impl.rfind(':');
  return colon == std::string::npos ? "" : impl.substr(colon + 1);
}

bool has_binary_post_op(const dnnl::primitive_attr& attr) {
  const dnnl::post_ops po = attr.get_post_ops();
  for (int i = 0; i < po.len(); ++i)
    if (po.kind(i) == dnnl::primitive::kind::binary) return true;
  return false;
}

// The convolution as timed: layouts and geometry of the descriptor, post-op kinds, threads.
std::string timing_key(const conv::desc& d, const dnnl::primitive_attr& attr) {
  const dnnl_convolution_desc_t& c = d.data;
  std::string k = layout_key(dnnl::memory::desc(c.src_desc)) + "#" +
                  layout_key(dnnl::memory::desc(c.weights_desc)) + "#" +
                  layout_key(dnnl::memory::desc(c.bias_desc)) + "#" +
                  layout_key(dnnl::memory::desc(c.dst_desc)) + "#";
  for (int i = 0; i < c.src_desc.ndims - 2; ++i)
    k += std::to_string(c.strides[i]) + "," + std::to_string(c.dilates[i]) + "," +
         std::to_string(c.padding[0][i]) + "," + std::to_string(c.padding[1][i]) + ";";
  const dnnl::post_ops po = attr.get_post_ops();
  for (int i = 0; i < po.len(); ++i) {
    k += " " + std::to_string(static_cast<int>(po.kind(i)));
    if (po.kind(i) == dnnl::primitive::kind::eltwise) {
      float scale = 0, alpha = 0, beta = 0;
      dnnl::algorithm alg;
      po.get_params_eltwise(i, scale, alg, alpha, beta);
      k += "/" + std::to_string(static_cast<int>(alg));
    }
  }
  return k + " t" + std::to_string(num_threads());
}

// The names of oneDNN's implementations of `d` (its layouts fixed) with the first one's ISA
// (the lower ISAs' kernels are never faster), reference loops left out. By name, not by
// position: oneDNN's primitive cache puts an implementation created before for the same
// descriptor first in the list (then lists it again), so the order changes once the
// candidates are timed.
std::vector<std::string> candidates(const conv::desc& d, const dnnl::primitive_attr& attr,
                                    const dnnl::engine& engine) {
  conv::primitive_desc pd(d, attr, engine);
  const std::string isa = isa_of(pd.impl_info_str());
  std::vector<std::string> out;
  do {
    const std::string impl = pd.impl_info_str();
    if (isa_of(impl) == isa && impl.rfind("ref", 0) != 0 &&
        std::find(out.begin(), out.end(), impl) == out.end())
      out.push_back(impl);
  } while (pd.next_impl());
  return out;
}

// The implementation called `impl` (oneDNN's first choice when empty or absent).
conv::primitive_desc named_or_first(const conv::desc& d, const dnnl::primitive_attr& attr,
                                    const dnnl::engine& engine, const std::string& impl) {
  conv::primitive_desc pd(d, attr, engine);
  if (impl.empty()) return pd;
  do
    if (pd.impl_info_str() == impl) return pd;
  while (pd.next_impl());
  return conv::primitive_desc(d, attr, engine);
}

dnnl::memory zeros(const dnnl::memory::desc& md, const dnnl::engine& engine) {
  dnnl::memory m(md, engine);
  std::memset(m.get_data_handle(), 0, md.get_size());
  return m;
}

struct Timed {
  dnnl::primitive prim;
  Args args;  // zero-filled buffers in the implementation's layouts: the same work for all
  double ms = INFINITY;
};

// The candidates in turn, the fastest of 4 runs each after one warm-up: alternating spreads
// a shared machine's disturbances over all of them, the minimum is the least disturbed.
std::vector<double> time_all(const conv::desc& d, const dnnl::primitive_attr& attr,
                             const std::vector<std::string>& cs, Context& context) {
  const dnnl::engine& engine = context.engine();
  std::vector<Timed> ts;
  for (const std::string& impl : cs) {
    const conv::primitive_desc pd = named_or_first(d, attr, engine, impl);
    Timed t{conv(pd), {}};
    t.args[DNNL_ARG_SRC] = zeros(pd.src_desc(), engine);
    t.args[DNNL_ARG_WEIGHTS] = zeros(pd.weights_desc(), engine);
    t.args[DNNL_ARG_DST] = zeros(pd.dst_desc(), engine);
    if (pd.bias_desc().get_size() > 0) t.args[DNNL_ARG_BIAS] = zeros(pd.bias_desc(), engine);
    if (pd.scratchpad_desc().get_size() > 0)
      t.args[DNNL_ARG_SCRATCHPAD] = zeros(pd.scratchpad_desc(), engine);
    ts.push_back(std::move(t));
  }
  for (int round = 0; round < 5; ++round)
    for (Timed& t : ts) {
      const auto t0 = std::chrono::steady_clock::now();
      t.prim.execute(context.stream(), t.args);
      context.stream().wait();
      const double ms =
          std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
      if (round > 0) t.ms = std::min(t.ms, ms);
    }
  std::vector<double> ms;
  for (const Timed& t : ts) ms.push_back(t.ms);
  return ms;
}

struct Choice {
  std::string impl;  // empty: oneDNN's first choice
  std::string note;
};

// FRUGAL_CONV_IMPL=timed: the fastest candidate, the note listing every one's time.
Choice fastest(const conv::desc& d, const dnnl::primitive_attr& attr, Context& context) {
  const std::vector<std::string> cs = candidates(d, attr, context.engine());
  if (cs.size() < 2) return {};
  const std::vector<double> ms = time_all(d, attr, cs, context);
  const size_t best = std::min_element(ms.begin(), ms.end()) - ms.begin();
  std::string note = "timed:";
  for (size_t i = 0; i < cs.size(); ++i) {
    char t[32];
    std::snprintf(t, sizeof t, " %.4f ms", ms[i]);
    note += " " + cs[i] + t;
  }
  return {cs[best], note};
}

// FRUGAL_CONV_IMPL=NAME: the first candidate whose name starts with NAME (an A/B switch:
// jit_1x1, jit:, brgconv...), else oneDNN's first choice.
Choice named(const conv::desc& d, const dnnl::primitive_attr& attr, const dnnl::engine& engine,
             const std::string& name) {
  for (const std::string& impl : candidates(d, attr, engine))
    if (impl.rfind(name, 0) == 0) return {impl, "FRUGAL_CONV_IMPL=" + name};
  return {};
}

}  // namespace

bool conv_layout_blocked() {
  return env_value("FRUGAL_CONV_LAYOUT") == "blocked";
}

conv::primitive_desc fastest_conv_impl(const Build& b, const ConvDescOf& desc_of,
                                       const dnnl::memory::desc& src, const dnnl::memory::desc& dst,
                                       const dnnl::primitive_attr& attr, std::string& note) {
  const dnnl::engine& engine = b.context->engine();
  conv::primitive_desc first(desc_of(src, dst), attr, engine);
  const std::string mode = env_value("FRUGAL_CONV_IMPL");
  if (mode.empty() || mode == "off" || has_binary_post_op(attr)) return first;
  const conv::desc fixed = desc_of(first.src_desc(), first.dst_desc());
  static std::mutex mutex;
  static std::map<std::string, Choice> cache;
  Choice choice;
  {
    std::lock_guard<std::mutex> lock(mutex);
    const std::string key = mode + " " + timing_key(fixed, attr);
    auto it = cache.find(key);
    if (it == cache.end())
      it = cache
               .emplace(key, mode == "timed" ? fastest(fixed, attr, *b.context)
                                             : named(fixed, attr, engine, mode))
               .first;
    choice = it->second;
  }
  note = choice.note;
  return named_or_first(fixed, attr, engine, choice.impl);
}

}  // namespace frugal::kernels::cpu
