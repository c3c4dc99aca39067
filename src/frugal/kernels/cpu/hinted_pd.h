// A primitive descriptor made in the layout input `i`'s producer writes (Build::hint) when
// oneDNN has a non-reference kernel for it there, else in `plain`: its reference loops over
// a blocked layout cost more than the reorders to plain and back (PRelu, ReduceMean).
#pragma once

#include <string>

#include "frugal/kernels/cpu/factories.h"

namespace frugal::kernels::cpu {

// make(md) builds the descriptor for the input layout md (it may throw dnnl::error).
template <typename Make>
auto in_producer_layout(const Build& b, size_t i, const dnnl::memory::desc& plain, const Make& make)
    -> decltype(make(plain)) {
  if (const dnnl::memory::desc* hint = b.hint(i)) {
    try {
      auto pd = make(*hint);
      if (std::string(pd.impl_info_str()).rfind("ref", 0) != 0) return pd;
    } catch (const dnnl::error&) {
    }
  }
  return make(plain);
}

}  // namespace frugal::kernels::cpu
