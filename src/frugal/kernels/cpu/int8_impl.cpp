#include "frugal/kernels/cpu/int8_impl.h"

#include <cstdlib>
#include <cstring>

namespace frugal::kernels::cpu {

int64_t conv_macs(const std::vector<int64_t>& y, const std::vector<int64_t>& w) {
  int64_t macs = 1;
  for (size_t d = 0; d < y.size(); ++d)
    if (d != 1) macs *= y[d];
  for (size_t d = 1; d < w.size(); ++d) macs *= w[d];
  return macs * y.at(1);
}

bool is_amx(const std::string& impl) {
  return impl.find("amx") != std::string::npos;
}

bool is_jit_amx(const std::string& impl) {
  return impl.rfind("jit", 0) == 0 && is_amx(impl);
}

namespace {
// FRUGAL_INT8_KEEP_JIT_AMX=1: oneDNN's first choice everywhere (the A/B switch of
// bench/int8/amx_ab.sh).
bool keep_jit_amx() {
  static const bool keep = [] {
    const char* v = std::getenv("FRUGAL_INT8_KEEP_JIT_AMX");
    return v && std::strcmp(v, "1") == 0;
  }();
  return keep;
}
}  // namespace

dnnl::convolution_forward::primitive_desc int8_conv_pd(const dnnl::convolution_forward::desc& d,
                                                       const dnnl::primitive_attr& attr,
                                                       const dnnl::engine& engine, int64_t macs) {
  using pd_t = dnnl::convolution_forward::primitive_desc;
  pd_t pd(d, attr, engine);
  if (keep_jit_amx() || macs >= kAmxJitMinMacs || !is_jit_amx(pd.impl_info_str())) return pd;
  // next_impl() moves this descriptor's own iterator: a fresh one is returned when every
  // implementation is a jit AMX one.
  // Never down to oneDNN's reference loops ("ref:any"), which are slower still.
  while (pd.next_impl()) {
    const std::string impl = pd.impl_info_str();
    if (impl.rfind("ref", 0) == 0) break;
    if (!is_jit_amx(impl)) return pd;
  }
  return pd_t(d, attr, engine);
}

}  // namespace frugal::kernels::cpu
