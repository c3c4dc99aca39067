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

struct Candidate {
  int position = 0;  // next_impl() steps from oneDNN's first choice
  std::string impl;
};

// oneDNN's implementations of `d` that read and write the first one's layouts with its
// ISA (the lower ISAs' kernels are never faster), in oneDNN's order.
std::vector<Candidate> candidates(const conv::desc& d, const dnnl::primitive_attr& attr,
                                  const dnnl::engine& engine) {
  conv::primitive_desc pd(d, attr, engine);
  const dnnl::memory::desc src = pd.src_desc(), dst = pd.dst_desc();
  const std::string isa = isa_of(pd.impl_info_str());
  std::vector<Candidate> out;
  int position = 0;
  do {
    const std::string impl = pd.impl_info_str();
    if (pd.src_desc() == src && pd.dst_desc() == dst && isa_of(impl) == isa &&
        impl.rfind("ref", 0) != 0)
      out.push_back({position, impl});
    ++position;
  } while (pd.next_impl());
  return out;
}

conv::primitive_desc at_position(const conv::desc& d, const dnnl::primitive_attr& attr,
                                 const dnnl::engine& engine, int position) {
  conv::primitive_desc pd(d, attr, engine);
  for (int i = 0; i < position; ++i) pd.next_impl();
  return pd;
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
                             const std::vector<Candidate>& cs, Context& context) {
  const dnnl::engine& engine = context.engine();
  std::vector<Timed> ts;
  for (const Candidate& c : cs) {
    const conv::primitive_desc pd = at_position(d, attr, engine, c.position);
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
  int position = 0;
  std::string note;
};

// FRUGAL_CONV_IMPL=timed: the fastest candidate, the note listing every one's time.
Choice fastest(const conv::desc& d, const dnnl::primitive_attr& attr, Context& context) {
  const std::vector<Candidate> cs = candidates(d, attr, context.engine());
  if (cs.size() < 2) return {};
  const std::vector<double> ms = time_all(d, attr, cs, context);
  const size_t best = std::min_element(ms.begin(), ms.end()) - ms.begin();
  std::string note = "timed:";
  for (size_t i = 0; i < cs.size(); ++i) {
    char t[32];
    std::snprintf(t, sizeof t, " %.3f ms", ms[i]);
    note += " " + cs[i].impl + t;
  }
  return {cs[best].position, note};
}

// FRUGAL_CONV_IMPL=NAME: the first candidate whose name starts with NAME (an A/B switch:
// jit_1x1, jit:, brgconv...), else oneDNN's first choice.
Choice named(const conv::desc& d, const dnnl::primitive_attr& attr, const dnnl::engine& engine,
             const std::string& name) {
  for (const Candidate& c : candidates(d, attr, engine))
    if (c.impl.rfind(name, 0) == 0) return {c.position, "FRUGAL_CONV_IMPL=" + name};
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
  return at_position(fixed, attr, engine, choice.position);
}

}  // namespace frugal::kernels::cpu
