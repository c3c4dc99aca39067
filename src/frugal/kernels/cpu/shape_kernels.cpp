// Data-movement operators: Concat on oneDNN's concat primitive (or the own copy in its
// layouts, concat.h); Transpose, Split, Reshape and Flatten as reorders (oneDNN's reorder
// copies between any two strided layouts of the same dims, so a transpose is a reorder into
// the output viewed with permuted strides, and a split piece a reorder out of a sub-memory
// of the input). Each reads its inputs in their producers' layout when it can, so that the
// blocked layouts of the convolutions around them survive (layout.h): they then also write
// that kind of layout.
#include <algorithm>
#include <numeric>
#include <optional>

#include "frugal/kernels/cpu/concat.h"
#include "frugal/kernels/cpu/factories.h"

namespace frugal::kernels::cpu {
namespace {

using dt = dnnl::memory::data_type;

int64_t normalized_axis(int64_t axis, size_t rank) {
  const int64_t r = static_cast<int64_t>(rank);
  if (axis < -r || axis >= r)
    decline("axis " + std::to_string(axis) + " out of range for rank " + std::to_string(rank));
  return axis < 0 ? axis + r : axis;
}

void check_rank(const Shape& s) {
  if (s.empty()) decline("scalar input not implemented");
  if (s.size() > DNNL_MAX_NDIMS)
    decline(std::to_string(s.size()) + "-D tensor not implemented (oneDNN allows " +
            std::to_string(DNNL_MAX_NDIMS) + ")");
}

// A dense layout of `dims` ordering the dimensions like `like` (e.g. nhwc for nhwc), or
// nullopt when `like` is not a plain strided layout (channel blocks, padding).
std::optional<dnnl::memory::desc> same_order(const dnnl::memory::desc& like,
                                             const dnnl::memory::dims& dims) {
  const dnnl_memory_desc_t& d = like.data;
  if (d.format_kind != dnnl_blocked || d.format_desc.blocking.inner_nblks != 0 ||
      d.ndims != static_cast<int>(dims.size()) || d.offset0 != 0)
    return std::nullopt;
  for (int i = 0; i < d.ndims; ++i)
    if (d.padded_dims[i] != d.dims[i]) return std::nullopt;
  // Outermost first: larger stride, ties (size-1 dims) in index order.
  std::vector<int> order(dims.size());
  std::iota(order.begin(), order.end(), 0);
  const auto* strides = d.format_desc.blocking.strides;
  std::stable_sort(order.begin(), order.end(),
                   [&](int a, int b) { return strides[a] > strides[b]; });
  dnnl::memory::dims out(dims.size());
  dnnl::memory::dim step = 1;
  for (size_t k = order.size(); k-- > 0;) {
    out[order[k]] = step;
    step *= dims[order[k]];
  }
  return dnnl::memory::desc(dims, like.data_type(), out);
}

}  // namespace

std::unique_ptr<kernels::Kernel> make_concat(const Build& b) {
  const size_t n = b.view.inputs.size();
  for (size_t i = 0; i < n; ++i)
    if (!b.has_input(i)) decline("missing input " + std::to_string(i));
  const Shape& y = b.out_shape(0);
  check_rank(y);
  const int axis = static_cast<int>(normalized_axis(b.node().attr_int("axis", 0), y.size()));
  std::vector<dnnl::memory::desc> plain;
  for (size_t i = 0; i < n; ++i) plain.push_back(plain_md(b.in_shape(i), dt::f32));

  // The producers' layouts where they have one; an input without one (from ref, a graph
  // input) converted into the same dimension order when that is a strided layout.
  const dnnl::memory::desc* blocked = nullptr;
  for (size_t i = 0; i < n && !blocked; ++i) blocked = b.hint(i);
  std::optional<dnnl::concat::primitive_desc> pd;
  if (blocked) {
    std::vector<dnnl::memory::desc> srcs;
    for (size_t i = 0; i < n; ++i) {
      if (const auto* h = b.hint(i)) {
        srcs.push_back(*h);
      } else {
        const auto like = same_order(*blocked, b.in_shape(i));
        srcs.push_back(like ? *like : plain[i]);
      }
    }
    try {
      pd.emplace(axis, srcs, b.context->engine(), scratchpad_attr());
    } catch (const dnnl::error&) {
      // A channel-blocked layout split at a non-block boundary: concatenate plain.
    }
  }
  if (!pd) pd.emplace(plain_md(y, dt::f32), axis, plain, b.context->engine(), scratchpad_attr());
  if (auto own = make_own_concat(b, axis, *pd)) return own;

  auto k = std::make_unique<OnednnKernel>(b.context);
  Args args;
  for (size_t i = 0; i < n; ++i)
    args[DNNL_ARG_MULTIPLE_SRC + static_cast<int>(i)] =
        k->input_as(i, plain[i], pd->src_desc(static_cast<int>(i)));
  args[DNNL_ARG_DST] = k->output_as(0, plain_md(y, dt::f32), pd->dst_desc());
  k->add_step(*pd, dnnl::concat(*pd), std::move(args));
  return k;
}

std::unique_ptr<kernels::Kernel> make_transpose(const Build& b) {
  const Shape& x = b.in_shape(0);
  const Shape& y = b.out_shape(0);
  check_rank(x);
  std::vector<int64_t> perm = b.node().attr_ints("perm");
  if (perm.empty()) {
    perm.resize(x.size());
    for (size_t j = 0; j < x.size(); ++j) perm[j] = static_cast<int64_t>(x.size() - 1 - j);
  }
  std::vector<bool> seen(x.size(), false);
  for (int64_t p : perm) {
    if (perm.size() != x.size() || p < 0 || p >= static_cast<int64_t>(x.size()) ||
        seen[static_cast<size_t>(p)])
      decline("perm is not a permutation of the " + std::to_string(x.size()) + " axes");
    seen[static_cast<size_t>(p)] = true;
  }
  // `out` (a layout of y) seen from the input's axes, y[j] being x[perm[j]]: the reorder
  // from the input into this writes the transposed tensor.
  auto as_input_axes = [&](const dnnl::memory::desc& out) {
    dnnl::memory::dims strides(x.size());
    for (size_t j = 0; j < perm.size(); ++j)
      strides[static_cast<size_t>(perm[j])] = out.data.format_desc.blocking.strides[j];
    return dnnl::memory::desc(x, dt::f32, strides);
  };
  const dnnl::memory::desc in_plain = plain_md(x, dt::f32);
  const dnnl::memory::desc out_plain = plain_md(y, dt::f32);
  const dnnl::engine& eng = b.context->engine();

  // In a producer's strided layout (nhwc, or a reshape of it), y is written with its axes
  // in the same memory order by position, so that a channel shuffle
  // (N,g,C/g,H,W) -> (N,C/g,g,H,W) of an nhwc tensor reshapes back to nhwc; unless that
  // layout already is plain y (nhwc, perm (0,2,3,1)): then nothing moves (views.h).
  const dnnl::memory::desc* hint = b.hint(0);
  const bool hint_is_plain_y = hint && byte_shift(*hint, as_input_axes(out_plain)) == 0;
  std::optional<dnnl::memory::desc> out_native =
      hint && !hint_is_plain_y ? same_order(*hint, y) : std::nullopt;
  auto k = std::make_unique<OnednnKernel>(b.context);
  Args args;
  if (!hint) {
    // A plain input: y in the input's memory order (NHWC -> perm (0,3,1,2) gives nhwc),
    // kept when the readers want that layout (a convolution, then nothing moves), else
    // converted to plain y straight from the input (OnednnKernel::finish_build).
    const auto* in_strides = in_plain.data.format_desc.blocking.strides;
    dnnl::memory::dims strides(y.size());
    for (size_t j = 0; j < perm.size(); ++j) strides[j] = in_strides[perm[j]];
    const dnnl::memory::desc in_order(y, dt::f32, strides);
    if (in_order != out_plain) {
      const dnnl::memory bound = k->bind_input(0, in_plain);
      k->add_copy(k->view_of(bound, in_order), k->output_as(0, out_plain, in_order), true);
      k->add_note("its input's memory order where the reader keeps it");
      return k;
    }
  }
  if (out_native) {
    const dnnl::memory::desc to = as_input_axes(*out_native);
    dnnl::reorder::primitive_desc pd(eng, *hint, eng, to, scratchpad_attr());
    args[DNNL_ARG_FROM] = k->input_as(0, in_plain, *hint);
    args[DNNL_ARG_TO] = k->view_of(k->output_as(0, out_plain, *out_native), to);
    k->add_step(pd, dnnl::reorder(pd), std::move(args));
    return k;
  }
  // Plain output, read from the producer's layout when the reorder allows it.
  const dnnl::memory::desc to = as_input_axes(out_plain);
  std::optional<dnnl::reorder::primitive_desc> pd;
  if (hint) {
    try {
      pd.emplace(eng, *hint, eng, to, scratchpad_attr());
    } catch (const dnnl::error&) {
    }
  }
  if (!pd) pd.emplace(eng, in_plain, eng, to, scratchpad_attr());
  args[DNNL_ARG_FROM] = k->input_as(0, in_plain, pd->src_desc());
  // Bound as the input's dims with the output's strides: the same bytes as plain y.
  args[DNNL_ARG_TO] = k->bind_output(0, to);
  k->add_step(*pd, dnnl::reorder(*pd), std::move(args));
  return k;
}

std::unique_ptr<kernels::Kernel> make_reshape(const Build& b) {
  const Shape& x = b.in_shape(0);
  const Shape& y = b.out_shape(0);
  check_rank(x);
  check_rank(y);
  const dnnl::memory::desc in_plain = plain_md(x, dt::f32);
  const dnnl::engine& eng = b.context->engine();
  auto k = std::make_unique<OnednnKernel>(b.context);
  Args args;
  // A producer's layout that the new dims can describe (oneDNN's reshape: dims merged or
  // split only where they are contiguous in memory) stays: the bytes are copied as they are.
  std::optional<dnnl::memory::desc> out_native;
  const dnnl::memory::desc* hint = b.hint(0);
  if (hint) {
    try {
      out_native = hint->reshape(y);
    } catch (const dnnl::error&) {
    }
  }
  const dnnl::memory::desc& in_md = out_native ? *hint : in_plain;
  // Both sides viewed as one flat run of floats: a straight copy, whatever the strides.
  const dnnl::memory::desc flat({static_cast<dnnl::memory::dim>(in_md.get_size() / sizeof(float))},
                                dt::f32, dnnl::memory::format_tag::a);
  const dnnl::reorder::primitive_desc pd(eng, flat, eng, flat, scratchpad_attr());
  args[DNNL_ARG_FROM] = k->view_of(k->input_as(0, in_plain, in_md), flat);
  args[DNNL_ARG_TO] = k->view_of(out_native ? k->output_as(0, plain_md(y, dt::f32), *out_native)
                                            : k->bind_output(0, plain_md(y, dt::f32)),
                                 flat);
  k->add_step(pd, dnnl::reorder(pd), std::move(args));
  return k;
}

std::unique_ptr<kernels::Kernel> make_split(const Build& b) {
  const Shape& x = b.in_shape(0);
  check_rank(x);
  const int64_t axis = normalized_axis(b.node().attr_int("axis", 0), x.size());
  const size_t outs = b.view.outputs.size();
  for (size_t o = 0; o < outs; ++o) {
    if (!b.has_output(o)) decline("missing output " + std::to_string(o));
    if (shape_numel(b.out_shape(o)) == 0) decline("empty output " + shape_str(b.out_shape(o)));
  }
  const dnnl::memory::desc in_plain = plain_md(x, dt::f32);
  const dnnl::engine& eng = b.context->engine();

  // Pieces of the producer's layout, written in the same dimension order when that is a
  // strided layout (nhwc pieces of an nhwc input); else plain pieces of a plain input.
  struct Piece {
    dnnl::memory::desc from, to;
  };
  auto pieces_of = [&](const dnnl::memory::desc& src, bool keep_order) {
    std::vector<Piece> pieces;
    dnnl::memory::dims offsets(x.size(), 0);
    for (size_t o = 0; o < outs; ++o) {
      const Shape& s = b.out_shape(o);
      const dnnl::memory::desc to = keep_order ? same_order(src, s).value() : plain_md(s, dt::f32);
      pieces.push_back({src.submemory_desc(s, offsets), to});
      offsets[static_cast<size_t>(axis)] += s[static_cast<size_t>(axis)];
    }
    return pieces;
  };
  std::vector<Piece> pieces;
  const dnnl::memory::desc* hint = b.hint(0);
  if (hint && same_order(*hint, x)) {
    try {
      pieces = pieces_of(*hint, true);
    } catch (const dnnl::error&) {
      pieces.clear();
    }
  }
  const bool native = !pieces.empty();
  if (!native) pieces = pieces_of(in_plain, false);

  auto k = std::make_unique<OnednnKernel>(b.context);
  const dnnl::memory src = k->input_as(0, in_plain, native ? *hint : in_plain);
  for (size_t o = 0; o < outs; ++o) {
    dnnl::reorder::primitive_desc pd(eng, pieces[o].from, eng, pieces[o].to, scratchpad_attr());
    Args args;
    args[DNNL_ARG_FROM] = k->view_of(src, pieces[o].from);
    args[DNNL_ARG_TO] = k->output_as(o, plain_md(b.out_shape(o), dt::f32), pieces[o].to);
    k->add_step(pd, dnnl::reorder(pd), std::move(args), o == 0);
  }
  return k;
}

}  // namespace frugal::kernels::cpu
