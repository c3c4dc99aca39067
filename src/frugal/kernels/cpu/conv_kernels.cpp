// Conv and ConvTranspose on oneDNN's convolution and deconvolution primitives. The window
// geometry (pads, auto_pad, output_padding, output_shape) comes from ops/conv_geometry, as
// in the reference kernels, so both backends read the attributes the same way. Weights
// are reordered once into the primitive's preferred layout.
#include <cstdlib>
#include <string>

#include "frugal/kernels/cpu/conv_choice.h"
#include "frugal/kernels/cpu/depthwise.h"
#include "frugal/kernels/cpu/factories.h"
#include "frugal/kernels/cpu/post_ops.h"
#include "frugal/ops/conv_geometry.h"

namespace frugal::kernels::cpu {
namespace {

using dt = dnnl::memory::data_type;

std::vector<int64_t> spatial_of(const Shape& s) {
  return {s.begin() + 2, s.end()};
}

// oneDNN counts dilation from 0 (no gaps), ONNX from 1.
dnnl::memory::dims onednn_dilations(const ops::WindowGeometry& g) {
  dnnl::memory::dims d;
  for (int64_t x : g.dilations) d.push_back(x - 1);
  return d;
}

// Activations in the layout the primitive prefers (blocked channels): the direct
// kernels it then picks beat its plain-layout (im2col + gemm) ones by more than the
// reorders at the kernel's boundaries cost (resnet18: ~10% in float32, ~35% in bf16).
dnnl::memory::desc preferred_md(const Shape& shape, dt type) {
  return dnnl::memory::desc(shape, type, dnnl::memory::format_tag::any);
}

// A grouped (not depthwise) 2-D convolution's activations in nhwc, the layout the 1x1
// convolutions around it take on AVX-512 (brgconv): with `any`, oneDNN 2.6 gives it
// channel blocks sized by its group width (aBcd16b / 8b / 4b), which no neighbour shares,
// so each such value went through plain with two reorders on each side (ResNeXt-50: 4
// per block, 16 blocks). FRUGAL_GROUPED_ANY=1 keeps `any` (the A/B switch).
bool grouped_in_nhwc(const Shape& x, const Shape& y, int64_t group) {
  const char* off = std::getenv("FRUGAL_GROUPED_ANY");
  if (off && std::string(off) == "1") return false;
  return x.size() == 4 && group > 1 && x[1] / group > 1 && y[1] / group > 1;
}

void check_spatial_rank(const Build& b) {
  const size_t rank = b.in_shape(0).size();
  if (rank < 3 || rank > 5)
    decline(std::to_string(rank) + "-D input " + shape_str(b.in_shape(0)) +
            " not implemented (1 to 3 spatial dims)");
}

// Weights: the compute type in the primitive's preferred layout when they are constant;
// otherwise plain, bound (and converted when the compute type differs) at run time.
dnnl::memory::desc weights_query(const Build& b, const dnnl::memory::desc& boundary) {
  const dnnl::memory::dims dims = boundary.dims();
  if (b.constant(1))
    return dnnl::memory::desc(dims, b.compute_type(), dnnl::memory::format_tag::any);
  return plain_md(dims, b.compute_type());
}

dnnl::memory weights_memory(const Build& b, OnednnKernel& k, const dnnl::memory::desc& boundary,
                            const dnnl::memory::desc& wanted) {
  if (const Tensor* w = b.constant(1)) return k.constant_as(*w, boundary, wanted);
  return k.input_as(1, boundary, wanted);
}

template <typename PrimitiveDesc>
std::unique_ptr<kernels::Kernel> finish(const Build& b, const PrimitiveDesc& pd,
                                        const dnnl::primitive& prim,
                                        const dnnl::memory::desc& w_boundary,
                                        const PostOpChain& chain) {
  const Shape& x = b.in_shape(0);
  auto k = std::make_unique<OnednnKernel>(b.context);
  Args args;
  args[DNNL_ARG_SRC] = k->input_as(0, plain_md(x, dt::f32), pd.src_desc());
  args[DNNL_ARG_WEIGHTS] = weights_memory(b, *k, w_boundary, pd.weights_desc());
  if (b.has_input(2))
    args[DNNL_ARG_BIAS] = k->input_as(2, plain_md(b.in_shape(2), dt::f32), pd.bias_desc());
  args[DNNL_ARG_DST] = k->output_as(0, plain_md(b.out_shape(0), dt::f32), pd.dst_desc());
  chain.copy_sum_operand(*k, b.view, args[DNNL_ARG_DST]);
  chain.bind(*k, args);
  k->add_step(pd, prim, std::move(args));
  return k;
}

}  // namespace

std::unique_ptr<kernels::Kernel> make_conv(const Build& b) {
  check_spatial_rank(b);
  const ir::Node& n = b.node();
  const Shape& x = b.in_shape(0);
  const Shape& w = b.in_shape(1);
  const Shape& y = b.out_shape(0);
  const int64_t group = n.attr_int("group", 1);
  const ops::WindowGeometry g = ops::sliding_window(n, spatial_of(x), spatial_of(w), false);

  // ONNX's M x C/group x k... is oneDNN's goihw (or oihw) in the same memory order.
  Shape w_dims = w;
  if (group > 1) {
    w_dims[0] = w[0] / group;
    w_dims.insert(w_dims.begin(), group);
  }
  const dnnl::memory::desc w_boundary = plain_md(w_dims, dt::f32);
  const bool nhwc = grouped_in_nhwc(x, y, group);
  const bool blocked = !nhwc && group == 1 && x.size() == 4 && conv_layout_blocked();
  using tag = dnnl::memory::format_tag;
  const dnnl::memory::desc src =
      nhwc      ? dnnl::memory::desc(x, b.compute_type(), tag::nhwc)
      : blocked ? dnnl::memory::desc(x, b.compute_type(), x[1] < 16 ? tag::nchw : tag::nChw16c)
                : preferred_md(x, b.compute_type());
  const dnnl::memory::desc dst = nhwc      ? dnnl::memory::desc(y, dt::f32, tag::nhwc)
                                 : blocked ? dnnl::memory::desc(y, dt::f32, tag::nChw16c)
                                           : preferred_md(y, dt::f32);
  const dnnl::memory::desc wei = weights_query(b, w_boundary);

  PostOpChain chain;
  chain.add_node_post_ops_sum_in_place(b.view, y);
  dnnl::primitive_attr attr = scratchpad_attr();
  if (!chain.empty()) attr.set_post_ops(chain.ops());

  using conv = dnnl::convolution_forward;
  const auto prop = dnnl::prop_kind::forward_inference;
  const auto alg = dnnl::algorithm::convolution_direct;
  const ConvDescOf desc_of = [&](const dnnl::memory::desc& s, const dnnl::memory::desc& t) {
    return b.has_input(2) ? conv::desc(prop, alg, s, wei, plain_md(b.in_shape(2), dt::f32), t,
                                       g.strides, onednn_dilations(g), g.pad_begin, g.pad_end)
                          : conv::desc(prop, alg, s, wei, t, g.strides, onednn_dilations(g),
                                       g.pad_begin, g.pad_end);
  };
  std::string timed_note;
  const conv::primitive_desc pd = fastest_conv_impl(b, desc_of, src, dst, attr, timed_note);
  std::string own_note;
  if (auto own = make_own_depthwise(b, g, pd, own_note)) return own;
  auto k = finish(b, pd, conv(pd), w_boundary, chain);
  for (const std::string* note : {&timed_note, &own_note})
    if (!note->empty()) static_cast<OnednnKernel&>(*k).add_note(*note);
  return k;
}

std::unique_ptr<kernels::Kernel> make_conv_transpose(const Build& b) {
  check_spatial_rank(b);
  const ir::Node& n = b.node();
  const Shape& x = b.in_shape(0);
  const Shape& w = b.in_shape(1);
  const Shape& y = b.out_shape(0);
  const int64_t group = n.attr_int("group", 1);
  const ops::WindowGeometry g = ops::transposed_window(n, spatial_of(x), spatial_of(w));
  const size_t spatial = g.rank();
  for (size_t d = 0; d < spatial; ++d)
    if (g.pad_end[d] < 0)
      decline(
          "output_shape larger than the full transposed result (bias-only border) not "
          "implemented");

  // oneDNN's result is (in - 1) * stride + dilated kernel - pad_l - pad_r; ONNX's also
  // adds output_padding, which is then a negative right pad.
  const std::vector<int64_t> out_pad = n.has_attr("output_padding")
                                           ? n.attr_ints("output_padding")
                                           : std::vector<int64_t>(spatial, 0);
  dnnl::memory::dims pad_r = g.pad_end;
  for (size_t d = 0; d < spatial; ++d) pad_r[d] -= out_pad[d];

  // ONNX's weights are C x M/group x k...: per group, input channels before output ones.
  // Describe that memory with strides over oneDNN's (g,) o, i, k... dimensions.
  const int64_t c_per_group = w[0] / group, m_per_group = w[1];
  int64_t taps = 1;
  for (size_t d = 2; d < w.size(); ++d) taps *= w[d];
  dnnl::memory::dims dims, strides;
  if (group > 1) {
    dims = {group, m_per_group, c_per_group};
    strides = {c_per_group * m_per_group * taps, taps, m_per_group * taps};
  } else {
    dims = {m_per_group, c_per_group};
    strides = {taps, m_per_group * taps};
  }
  int64_t stride = taps;
  for (size_t d = 2; d < w.size(); ++d) {
    stride /= w[d];
    dims.push_back(w[d]);
    strides.push_back(stride);
  }
  const dnnl::memory::desc w_boundary(dims, dt::f32, strides);
  const dnnl::memory::desc src = preferred_md(x, b.compute_type());
  const dnnl::memory::desc dst = preferred_md(y, dt::f32);
  const dnnl::memory::desc wei =
      b.constant(1) ? dnnl::memory::desc(dims, b.compute_type(), dnnl::memory::format_tag::any)
                    : dnnl::memory::desc(dims, b.compute_type(), strides);

  PostOpChain chain;
  chain.add_node_post_ops_sum_in_place(b.view, y);
  dnnl::primitive_attr attr = scratchpad_attr();
  if (!chain.empty()) attr.set_post_ops(chain.ops());

  using deconv = dnnl::deconvolution_forward;
  const auto prop = dnnl::prop_kind::forward_inference;
  const auto alg = dnnl::algorithm::deconvolution_direct;
  const deconv::desc d = b.has_input(2)
                             ? deconv::desc(prop, alg, src, wei, plain_md(b.in_shape(2), dt::f32),
                                            dst, g.strides, onednn_dilations(g), g.pad_begin, pad_r)
                             : deconv::desc(prop, alg, src, wei, dst, g.strides,
                                            onednn_dilations(g), g.pad_begin, pad_r);
  const deconv::primitive_desc pd(d, attr, b.context->engine());
  return finish(b, pd, deconv(pd), w_boundary, chain);
}

}  // namespace frugal::kernels::cpu
