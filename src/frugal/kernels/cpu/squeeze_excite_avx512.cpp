// The SqueezeExcite loops (squeeze_excite_loops.h) compiled for AVX-512, and the post-ops
// of the own depthwise kernel's vector code (depthwise.h) for the activations.
#include "frugal/kernels/cpu/depthwise.h"
#include "frugal/kernels/cpu/squeeze_excite.h"

#pragma GCC push_options
#pragma GCC target("avx512f,avx512dq")
#include "frugal/kernels/cpu/squeeze_excite_loops.h"

namespace frugal::kernels::cpu {

const SeLoops& se_loops_avx512() {
  static const SeLoops loops{se_pool, se_dense_rows, se_dense_cols, se_scale, dw_post_ops_avx512};
  return loops;
}

}  // namespace frugal::kernels::cpu
#pragma GCC pop_options
