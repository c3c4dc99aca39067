// Conv and ConvTranspose on oneDNN's convolution and deconvolution primitives. The window
// geometry (pads, auto_pad, output_padding, output_shape) comes from ops/conv_geometry, as
// in the reference kernels, so both backends read the attributes the same way. Weights
// are reordered once into the primitive's preferred layout. A 2-D ConvTranspose whose
// stride equals its kernel (no pads, no dilation: the upsampling heads of segmentation and
// text-detection networks) runs as a 1x1 convolution and a pixel shuffle instead.
#include <cstdlib>
#include <string>

#include "frugal/kernels/cpu/conv_choice.h"
#include "frugal/kernels/cpu/depthwise.h"
#include "frugal/kernels/cpu/factories.h"
#include "frugal/kernels/cpu/pointwise.h"
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
  if (const Tensor* w = b.constant(1)) return k.graph_constant_as(*w, boundary, wanted);
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
  const dnnl::memory dst = args[DNNL_ARG_DST];
  k->add_step(pd, prim, std::move(args));
  chain.add_own_tail(*k, dst);
  return k;
}

// ConvTranspose with stride = kernel (kh x kw), no pads, dilation 1, one group, 2-D: the
// output tiles into kh x kw blocks, block (h, w) being x[:, :, h, w] times the weights,
// y[n, m, h kh + i, w kw + j] = sum_c x[n, c, h, w] W[c, m, i, j] + bias[m]. That is a 1x1
// convolution to M kh kw channels (output channel (m kh + i) kw + j, weights W read with
// strides, the bias repeated) written channels-last, then one reorder of its 6-D view
// [n, m, i, j, h, w] into y. oneDNN 2.6's deconvolution took 0.5 GMAC/s on PaddleOCR's
// detection head (24 channels to 1, 160x160 to 640x640), 20 times its 1x1 convolutions.
// A sum post-op (its operand in y's order) or run-time bias keeps the deconvolution.
bool shuffle_applies(const Build& b, const ops::WindowGeometry& g,
                     const dnnl::memory::dims& pad_r) {
  const Shape& w = b.in_shape(1);
  if (b.in_shape(0).size() != 4 || b.node().attr_int("group", 1) != 1) return false;
  if (b.has_input(2) && !b.constant(2)) return false;
  if (ops::has_post_ops(b.node())) {
    std::vector<ops::PostOp> list;
    try {
      list = ops::post_ops_of(b.node());
    } catch (const UserError& e) {
      decline(e.what());
    }
    if (ops::has_sum(list)) return false;
  }
  for (size_t d = 0; d < 2; ++d)
    if (g.strides[d] != w[2 + d] || g.dilations[d] != 1 || g.pad_begin[d] != 0 || pad_r[d] != 0)
      return false;
  return true;
}

std::unique_ptr<kernels::Kernel> conv_transpose_as_shuffle(const Build& b) {
  const Shape& x = b.in_shape(0);
  const Shape& w = b.in_shape(1);
  const Shape& y = b.out_shape(0);
  const int64_t c = w[0], m = w[1], kh = w[2], kw = w[3], o = m * kh * kw;
  const int64_t n = x[0], h = x[2], wd = x[3];
  using tag = dnnl::memory::format_tag;
  // W as o x c x 1 x 1: output channel (m kh + i) kw + j of input channel c is W[c][m][i][j].
  const dnnl::memory::desc w_boundary({o, c, 1, 1}, dt::f32, {1, o, 1, 1});
  const dnnl::memory::desc wei = weights_query(b, w_boundary);
  const dnnl::memory::desc z_md({n, o, h, wd}, dt::f32, tag::nhwc);
  PostOpChain chain;
  chain.add_node_post_ops(b.view, {n, o, h, wd});
  dnnl::primitive_attr attr = scratchpad_attr();
  if (!chain.empty()) attr.set_post_ops(chain.ops());
  using conv = dnnl::convolution_forward;
  const dnnl::memory::desc bias_md = plain_md({o}, dt::f32);
  const dnnl::memory::dims ones{1, 1}, zeros{0, 0};
  const auto prop = dnnl::prop_kind::forward_inference;
  const auto alg = dnnl::algorithm::convolution_direct;
  const conv::desc d = b.has_input(2) ? conv::desc(prop, alg, preferred_md(x, b.compute_type()),
                                                   wei, bias_md, z_md, ones, zeros, zeros, zeros)
                                      : conv::desc(prop, alg, preferred_md(x, b.compute_type()),
                                                   wei, z_md, ones, zeros, zeros, zeros);
  const conv::primitive_desc pd(d, attr, b.context->engine());

  auto k = std::make_unique<OnednnKernel>(b.context);
  Args args;
  args[DNNL_ARG_SRC] = k->input_as(0, plain_md(x, dt::f32), pd.src_desc());
  args[DNNL_ARG_WEIGHTS] = weights_memory(b, *k, w_boundary, pd.weights_desc());
  if (b.has_input(2)) {
    const std::vector<double> bias = b.constant(2)->to_double();
    std::vector<float> repeated(static_cast<size_t>(o));
    for (int64_t i = 0; i < o; ++i)
      repeated[static_cast<size_t>(i)] =
          static_cast<float>(bias[static_cast<size_t>(i / (kh * kw))]);
    args[DNNL_ARG_BIAS] =
        k->constant_as(Tensor::from_vector<float>({o}, repeated), bias_md, bias_md);
  }
  const dnnl::memory z = k->buffer(z_md);
  args[DNNL_ARG_DST] = z;
  chain.bind(*k, args);
  k->add_step(pd, std::move(args));
  // z channels-last as [n, m, i, j, h, w]; y plain as the same axes.
  const dnnl::memory::dims view{n, m, kh, kw, h, wd};
  const dnnl::memory::desc from(view, dt::f32, {h * wd * o, kh * kw, kw, 1, wd * o, o});
  const dnnl::memory::desc to(view, dt::f32,
                              {m * y[2] * y[3], y[2] * y[3], y[3], 1, kh * y[3], kw});
  k->add_copy(k->view_of(z, from), k->bind_output(0, to));
  k->add_note("stride = kernel: 1x1 conv + pixel shuffle");
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
  chain.allow_own_tail();
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
  if (auto own = make_own_pointwise(b, g, pd)) return own;
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
  if (shuffle_applies(b, g, pad_r)) return conv_transpose_as_shuffle(b);

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
