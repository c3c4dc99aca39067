// MaxPool, AveragePool, GlobalAveragePool and GlobalMaxPool on oneDNN's (dilated) pooling
// primitive. ceil_mode becomes extra right padding, which the primitive treats like the
// model's own padding: excluded from maxima and from exclude-padding averages. A 2-D
// MaxPool that would read and write channels-last runs frugal's own loop (max_pool.h).
#include "frugal/kernels/cpu/factories.h"
#include "frugal/kernels/cpu/max_pool.h"
#include "frugal/ops/conv_geometry.h"

namespace frugal::kernels::cpu {
namespace {

using dt = dnnl::memory::data_type;

std::vector<int64_t> spatial_of(const Shape& s) {
  return {s.begin() + 2, s.end()};
}

void check_spatial_rank(const Build& b) {
  const size_t rank = b.in_shape(0).size();
  if (rank < 3 || rank > 5)
    decline(std::to_string(rank) + "-D input " + shape_str(b.in_shape(0)) +
            " not implemented (1 to 3 spatial dims)");
}

using pool = dnnl::pooling_v2_forward;

pool::primitive_desc pooling_pd(const Build& b, dnnl::algorithm alg,
                                const dnnl::memory::dims& kernel, const dnnl::memory::dims& strides,
                                const dnnl::memory::dims& dilations,
                                const dnnl::memory::dims& pad_l, const dnnl::memory::dims& pad_r) {
  const dnnl::memory::desc src = plain_md(b.in_shape(0), dt::f32);
  const dnnl::memory::desc dst = plain_md(b.out_shape(0), dt::f32);
  auto make_pd = [&](const dnnl::memory::desc& s, const dnnl::memory::desc& d) {
    return pool::primitive_desc(pool::desc(dnnl::prop_kind::forward_inference, alg, s, d, strides,
                                           kernel, dilations, pad_l, pad_r),
                                scratchpad_attr(), b.context->engine());
  };
  // Read the producer's blocked layout when it has one (and write the same kind).
  pool::primitive_desc pd;
  const dnnl::memory::desc* hint = b.hint(0);
  try {
    pd = hint ? make_pd(*hint,
                        dnnl::memory::desc(b.out_shape(0), dt::f32, dnnl::memory::format_tag::any))
              : make_pd(src, dst);
  } catch (const dnnl::error&) {
    pd = make_pd(src, dst);
  }
  // On plain activations oneDNN 2.6 has only its scalar loop (simple_nchw: 68 ms for a
  // 2x2 max pool of 32x512x512 in ISNet): channels last then, with the reorders at both
  // ends (4-D only), the layout of its jit pooling and of the own MaxPool and Concat loops.
  if (!hint && b.in_shape(0).size() == 4 &&
      std::string(pd.impl_info_str()).rfind("simple_nchw", 0) == 0) {
    using tag = dnnl::memory::format_tag;
    try {
      pool::primitive_desc blocked = make_pd(dnnl::memory::desc(b.in_shape(0), dt::f32, tag::nhwc),
                                             dnnl::memory::desc(b.out_shape(0), dt::f32, tag::any));
      if (std::string(blocked.impl_info_str()).rfind("simple", 0) != 0) pd = blocked;
    } catch (const dnnl::error&) {
    }
  }
  return pd;
}

std::unique_ptr<kernels::Kernel> pooling_kernel(const Build& b, const pool::primitive_desc& pd) {
  auto k = std::make_unique<OnednnKernel>(b.context);
  Args args;
  args[DNNL_ARG_SRC] = k->input_as(0, plain_md(b.in_shape(0), dt::f32), pd.src_desc());
  args[DNNL_ARG_DST] = k->output_as(0, plain_md(b.out_shape(0), dt::f32), pd.dst_desc());
  k->add_step(pd, pool(pd), std::move(args));
  return k;
}

std::unique_ptr<kernels::Kernel> window_pool(const Build& b, bool max) {
  check_spatial_rank(b);
  const ir::Node& n = b.node();
  const bool ceil_mode = n.attr_int("ceil_mode", 0) != 0;
  const ops::WindowGeometry g =
      ops::sliding_window(n, spatial_of(b.in_shape(0)), n.attr_ints("kernel_shape"), ceil_mode);
  const bool include_pad = !max && n.attr_int("count_include_pad", 0) != 0;
  dnnl::memory::dims dilations, pad_r = g.pad_end;
  for (size_t d = 0; d < g.rank(); ++d) {
    dilations.push_back(g.dilations[d] - 1);
    // oneDNN sizes the output by rounding down: pad on the right up to the last window.
    const int64_t needed =
        (g.out[d] - 1) * g.strides[d] + g.effective_kernel(d) - g.in[d] - g.pad_begin[d];
    if (needed > pad_r[d]) {
      if (include_pad)
        decline(
            "AveragePool with ceil_mode and count_include_pad whose last window passes the "
            "end padding not implemented");
      pad_r[d] = needed;
    }
  }
  const dnnl::algorithm alg = max           ? dnnl::algorithm::pooling_max
                              : include_pad ? dnnl::algorithm::pooling_avg_include_padding
                                            : dnnl::algorithm::pooling_avg_exclude_padding;
  const pool::primitive_desc pd =
      pooling_pd(b, alg, g.kernel, g.strides, dilations, g.pad_begin, pad_r);
  if (max)
    if (auto own = make_own_max_pool(b, g, pd)) return own;
  return pooling_kernel(b, pd);
}

std::unique_ptr<kernels::Kernel> global_pool(const Build& b, dnnl::algorithm alg) {
  check_spatial_rank(b);
  const dnnl::memory::dims kernel = spatial_of(b.in_shape(0));
  const dnnl::memory::dims ones(kernel.size(), 1), zeros(kernel.size(), 0);
  return pooling_kernel(b, pooling_pd(b, alg, kernel, ones, zeros, zeros, zeros));
}

}  // namespace

std::unique_ptr<kernels::Kernel> make_max_pool(const Build& b) {
  if (b.has_output(1)) decline("MaxPool with the Indices output not implemented");
  return window_pool(b, true);
}

std::unique_ptr<kernels::Kernel> make_average_pool(const Build& b) {
  return window_pool(b, false);
}

std::unique_ptr<kernels::Kernel> make_global_average_pool(const Build& b) {
  return global_pool(b, dnnl::algorithm::pooling_avg_exclude_padding);
}

std::unique_ptr<kernels::Kernel> make_global_max_pool(const Build& b) {
  return global_pool(b, dnnl::algorithm::pooling_max);
}

}  // namespace frugal::kernels::cpu
