// Resize and Upsample, modes nearest and linear, as an own loop over float32 tensors in the
// layouts of its neighbours: every segmentation head, FPN and YOLO neck upsamples a
// convolution's output, which the reference kernel read on one thread between two layout
// conversions.
//
// The per-axis taps (which input indices, with which weights) come from ops/resize.h, the
// reference kernel's own, so every coordinate transformation and nearest mode is computed
// in one place. The output is walked in its memory order: the innermost axis is a "row",
// the one before it a "line" of rows, the axes before that "planes". Each output row is a
// weighted sum of input rows (the plane and line taps combined), resampled along the row
// when the innermost axis is resized too. Input and output are each plain or channels-last
// (NHWC/NDHWC, the convolutions' layout here), as the Session negotiates (layout.h): a
// segmentation head reads a convolution's NHWC and writes the plain logits the user sees,
// with no reorder of the large output. When both have one layout, an output line's planes
// are blended once into a buffer (a bilinear NHWC pixel is then two blends of C floats);
// otherwise each output row gathers its input rows at their stride.
#include <algorithm>
#include <cstring>
#include <numeric>
#include <optional>
#include <string>
#include <vector>

#include "frugal/core/error.h"
#include "frugal/kernels/cpu/layout.h"
#include "frugal/kernels/cpu/onednn_kernel.h"
#include "frugal/kernels/cpu/resize_factories.h"
#include "frugal/kernels/cpu/threads.h"
#include "frugal/ops/resize.h"

namespace frugal::kernels::cpu {
namespace {

using dt = dnnl::memory::data_type;

// One input row (or element) of a weighted sum: where it starts, in floats from a base,
// and its weight.
struct Tap {
  int64_t offset;
  float weight;
};

// The taps of one axis per output index, zero weights left out (so that an infinite input
// the reference skips cannot make a NaN here): the taps of index x are
// tap[first[x]] .. tap[first[x + 1]).
struct AxisPlan {
  std::vector<int64_t> first;
  std::vector<Tap> tap;
  const Tap* begin(int64_t x) const { return tap.data() + first[x]; }
  const Tap* end(int64_t x) const { return tap.data() + first[x + 1]; }
};

AxisPlan axis_plan(const ops::AxisTaps& t, int64_t out_len, int64_t stride) {
  AxisPlan a;
  a.first.push_back(0);
  for (int64_t x = 0; x < out_len; ++x) {
    for (int j = 0; j < t.taps; ++j) {
      const double w = t.weight[x * t.taps + j];
      if (w != 0) a.tap.push_back({t.index[x * t.taps + j] * stride, static_cast<float>(w)});
    }
    a.first.push_back(static_cast<int64_t>(a.tap.size()));
  }
  return a;
}

// The innermost axis' taps as two per output index, each an index into a contiguous row:
// a resampled row is a gather (nearest) or two (linear) per element. A zero weight's
// index repeats the other tap, the weights halved, so that an infinite input the
// reference skips cannot make a NaN here (w v / 2 + w v / 2 = w v exactly).
struct RowTaps {
  bool nearest = false;
  std::vector<int32_t> index0, index1;
  std::vector<float> weight0, weight1;
};

RowTaps row_taps(const ops::AxisTaps& t, int64_t out_len) {
  RowTaps r;
  r.nearest = t.taps == 1;
  for (int64_t x = 0; x < out_len; ++x) {
    int32_t i0 = static_cast<int32_t>(t.index[x * t.taps]);
    if (r.nearest) {
      r.index0.push_back(i0);
      continue;
    }
    int32_t i1 = static_cast<int32_t>(t.index[x * t.taps + 1]);
    float w0 = static_cast<float>(t.weight[x * 2]), w1 = static_cast<float>(t.weight[x * 2 + 1]);
    if (w0 == 0 || w1 == 0) {
      if (w0 == 0) i0 = i1;
      w0 = w1 = (w0 + w1) / 2;
      i1 = i0;
    }
    r.index0.push_back(i0);
    r.index1.push_back(i1);
    r.weight0.push_back(w0);
    r.weight1.push_back(w1);
  }
  return r;
}

// The walk described at the top, over the output's axes in its memory order.
struct ResizePlan {
  std::vector<AxisPlan> planes;    // the plane axes', offsets in the input
  std::vector<int64_t> plane_out;  // their output lengths
  AxisPlan line;                   // offsets in the input from a plane's base
  RowTaps row;                     // along a contiguous input row; unused when identity
  bool row_identity = true;
  bool same_order = true;             // the input's layout is the output's: lines are contiguous
  int64_t in_line = 0, in_row = 0;    // elements in an input line and row
  int64_t row_stride = 1;             // between consecutive elements of an input row
  int64_t out_line = 0, out_row = 0;  // output rows per line, floats per output row
  int64_t rows = 0;                   // output rows in all
};

// Element strides of a dense layout whose axes lie in memory in `order` (outermost first).
std::vector<int64_t> strides_in(const Shape& shape, const std::vector<size_t>& order) {
  std::vector<int64_t> stride(shape.size(), 1);
  int64_t s = 1;
  for (size_t k = order.size(); k-- > 0;) {
    stride[order[k]] = s;
    s *= shape[order[k]];
  }
  return stride;
}

ResizePlan plan_of(const ops::ResizeTaps& taps, const Shape& in,
                   const std::vector<size_t>& in_order, const std::vector<size_t>& out_order) {
  const std::vector<int64_t> in_stride = strides_in(in, in_order);
  std::vector<const ops::AxisTaps*> axis;
  std::vector<int64_t> stride, in_m, out_m;
  for (size_t a : out_order) {
    axis.push_back(&taps.axes[a]);
    stride.push_back(in_stride[a]);
    in_m.push_back(in[a]);
    out_m.push_back(taps.out[a]);
  }
  const ops::AxisTaps unit{.index = {0}, .weight = {1.0}, .outside = {false}};
  while (axis.size() < 2) {  // a rank-1 tensor is one line of one row
    axis.insert(axis.begin(), &unit);
    stride.insert(stride.begin(), 0);
    in_m.insert(in_m.begin(), 1);
    out_m.insert(out_m.begin(), 1);
  }
  const size_t r = axis.size();
  ResizePlan p;
  for (size_t d = 0; d + 2 < r; ++d) {
    p.planes.push_back(axis_plan(*axis[d], out_m[d], stride[d]));
    p.plane_out.push_back(out_m[d]);
  }
  p.line = axis_plan(*axis[r - 2], out_m[r - 2], stride[r - 2]);
  p.row = row_taps(*axis[r - 1], out_m[r - 1]);
  p.row_identity = axis[r - 1]->identity;
  p.same_order = in_order == out_order;
  p.in_row = in_m[r - 1];
  p.in_line = in_m[r - 2] * p.in_row;
  p.row_stride = stride[r - 1];
  p.out_row = out_m[r - 1];
  p.out_line = out_m[r - 2];
  p.rows = std::accumulate(out_m.begin(), out_m.end() - 1, int64_t{1}, std::multiplies<>());
  return p;
}

// dst[i] = sum over taps of weight * base[offset + i], i < len. The loops here are written
// for the compiler to vectorize, once for AVX-512 and once for the baseline ISA.
__attribute__((target_clones("avx512f", "default"))) void blend(float* dst, const float* base,
                                                                const Tap* taps, size_t n,
                                                                int64_t len) {
  if (n == 1 && taps[0].weight == 1.0f) {
    std::memcpy(dst, base + taps[0].offset, static_cast<size_t>(len) * sizeof(float));
    return;
  }
  if (n == 2) {
    const float *a = base + taps[0].offset, *b = base + taps[1].offset;
    const float wa = taps[0].weight, wb = taps[1].weight;
    for (int64_t i = 0; i < len; ++i) dst[i] = wa * a[i] + wb * b[i];
    return;
  }
  const float* a = base + taps[0].offset;
  const float wa = taps[0].weight;
  for (int64_t i = 0; i < len; ++i) dst[i] = wa * a[i];
  for (size_t t = 1; t < n; ++t) {
    const float* s = base + taps[t].offset;
    const float w = taps[t].weight;
    for (int64_t i = 0; i < len; ++i) dst[i] += w * s[i];
  }
}

// The same over rows whose elements lie `stride` apart.
void blend_strided(float* dst, const float* base, const Tap* taps, size_t n, int64_t len,
                   int64_t stride) {
  if (stride == 1) return blend(dst, base, taps, n, len);
  for (int64_t i = 0; i < len; ++i) {
    float s = 0;
    for (size_t t = 0; t < n; ++t) s += taps[t].weight * base[taps[t].offset + i * stride];
    dst[i] = s;
  }
}

// dst[x] from the taps of x along the row.
__attribute__((target_clones("avx512f", "default"))) void resample_row(float* dst, const float* src,
                                                                       const RowTaps& row,
                                                                       int64_t len) {
  const int32_t* i0 = row.index0.data();
  if (row.nearest) {
    for (int64_t x = 0; x < len; ++x) dst[x] = src[i0[x]];
    return;
  }
  const int32_t* i1 = row.index1.data();
  const float *w0 = row.weight0.data(), *w1 = row.weight1.data();
  for (int64_t x = 0; x < len; ++x) dst[x] = w0[x] * src[i0[x]] + w1[x] * src[i1[x]];
}

// The input lines plane `plane` (an output index over the plane axes) blends.
void plane_taps(const ResizePlan& p, int64_t plane, std::vector<Tap>& out,
                std::vector<Tap>& scratch) {
  out.assign(1, Tap{0, 1.0f});
  for (size_t d = p.planes.size(); d-- > 0;) {
    const int64_t x = plane % p.plane_out[d];
    plane /= p.plane_out[d];
    scratch.clear();
    for (const Tap& a : out)
      for (const Tap* t = p.planes[d].begin(x); t != p.planes[d].end(x); ++t)
        scratch.push_back({a.offset + t->offset, a.weight * t->weight});
    out.swap(scratch);
  }
}

// One output row from the input rows `taps` names (offsets in the input), through
// `row_buf` when the row is resized.
void write_row(const ResizePlan& p, float* dst, const float* in, const Tap* taps, size_t n,
               std::vector<float>& row_buf) {
  if (p.row_identity) return blend_strided(dst, in, taps, n, p.in_row, p.row_stride);
  const float* src = in + taps[0].offset;
  if (n != 1 || taps[0].weight != 1.0f || p.row_stride != 1) {
    row_buf.resize(static_cast<size_t>(p.in_row));
    blend_strided(row_buf.data(), in, taps, n, p.in_row, p.row_stride);
    src = row_buf.data();
  }
  resample_row(dst, src, p.row, p.out_row);
}

// The input line of a plane whose bases are `bases` (input and output in one order).
const float* plane_line(const ResizePlan& p, const float* in, const std::vector<Tap>& bases,
                        std::vector<float>& line_buf) {
  if (bases.size() == 1 && bases[0].weight == 1.0f) return in + bases[0].offset;
  line_buf.resize(static_cast<size_t>(p.in_line));
  blend(line_buf.data(), in, bases.data(), bases.size(), p.in_line);
  return line_buf.data();
}

// Output rows [begin, end).
void run_rows(const ResizePlan& p, const float* in, float* out, int64_t begin, int64_t end) {
  thread_local std::vector<float> line_buf, row_buf;
  thread_local std::vector<Tap> bases, scratch, rows;
  int64_t plane = -1;
  const float* line = nullptr;  // same order: the plane's input line, blended when needed
  for (int64_t r = begin; r < end; ++r) {
    if (r / p.out_line != plane) {
      plane = r / p.out_line;
      plane_taps(p, plane, bases, scratch);
      if (p.same_order) line = plane_line(p, in, bases, line_buf);
    }
    const int64_t x = r % p.out_line;
    float* dst = out + r * p.out_row;
    if (p.same_order) {
      const Tap* t = p.line.begin(x);
      write_row(p, dst, line, t, static_cast<size_t>(p.line.end(x) - t), row_buf);
      continue;
    }
    rows.clear();
    for (const Tap& b : bases)
      for (const Tap* t = p.line.begin(x); t != p.line.end(x); ++t)
        rows.push_back({b.offset + t->offset, b.weight * t->weight});
    write_row(p, dst, in, rows.data(), rows.size(), row_buf);
  }
}

// A dense layout of `shape` whose axes lie in memory in `order` (outermost first).
dnnl::memory::desc ordered_md(const Shape& shape, const std::vector<size_t>& order) {
  return dnnl::memory::desc(shape, dt::f32, strides_in(shape, order));
}

std::vector<size_t> channels_last_order(size_t rank) {
  std::vector<size_t> order{0};
  for (size_t d = 2; d < rank; ++d) order.push_back(d);
  order.push_back(1);
  return order;
}

// Scales, sizes (and roi, unused by the modes implemented) must be known when building.
ops::ResizeTaps taps_of(const Build& b) {
  std::vector<const Tensor*> given(b.node().inputs.size(), nullptr);
  const bool has_roi = b.node().op_type == "Resize" && b.view.opset >= 11;
  for (size_t i = 1; i < given.size(); ++i) {
    if (!b.has_input(i)) continue;
    given[i] = b.constant(i);
    if (!given[i] && !(has_roi && i == 1))
      decline("scales or sizes known only at run time not implemented");
  }
  try {
    return ops::resize_taps(b.node(), b.view.opset, b.in_shape(0), given);
  } catch (const UnsupportedError& e) {
    decline(e.what());
  }
}

std::vector<size_t> plain_order(size_t rank) {
  std::vector<size_t> order(rank);
  std::iota(order.begin(), order.end(), size_t{0});
  return order;
}

// Input and output each plain or channels-last (rank 3 and up), as negotiated.
class ResizeKernel final : public kernels::Kernel, public LayoutNegotiable {
 public:
  ResizeKernel(ops::ResizeTaps taps, Shape in) : taps_(std::move(taps)), in_(std::move(in)) {
    replan();
  }

  void run(ops::KernelContext& ctx) override {
    const float* src = ctx.input(0).data<float>();
    float* dst = ctx.output(0).data<float>();
    const int threads = static_cast<int>(std::clamp<int64_t>(
        shape_numel(taps_.out) / min_floats_per_thread(), 1, int64_t{num_threads()}));
    parallel_split(threads, plan_.rows,
                   [&](int64_t begin, int64_t end) { run_rows(plan_, src, dst, begin, end); });
  }
  // The layouts are settled after the plan has read this: tests read
  // Session::native_layout_values().
  std::string impl() const override { return "loop:resize"; }

  std::optional<OpaqueLayout> native_output(size_t index) const override {
    return channels_last(taps_.out, index);
  }
  std::optional<OpaqueLayout> native_input(size_t index) const override {
    return channels_last(in_, index);
  }
  void adopt_native_output(size_t index) override {
    FRUGAL_CHECK(native_output(index), "no native layout to adopt for this output");
    out_channels_last_ = true;
    replan();
  }
  void adopt_native_input(size_t index) override {
    FRUGAL_CHECK(native_input(index), "no native layout to adopt for this input");
    in_channels_last_ = true;
    replan();
  }

 private:
  static std::optional<OpaqueLayout> channels_last(const Shape& shape, size_t index) {
    if (index != 0 || shape.size() < 3) return std::nullopt;
    const dnnl::memory::desc md = ordered_md(shape, channels_last_order(shape.size()));
    return OpaqueLayout{layout_key(md), md.get_size()};
  }
  void replan() {
    const size_t r = in_.size();
    plan_ = plan_of(taps_, in_, in_channels_last_ ? channels_last_order(r) : plain_order(r),
                    out_channels_last_ ? channels_last_order(r) : plain_order(r));
  }

  ops::ResizeTaps taps_;
  Shape in_;
  bool in_channels_last_ = false, out_channels_last_ = false;
  ResizePlan plan_;
};

}  // namespace

std::unique_ptr<kernels::Kernel> make_resize(const Build& b) {
  const Shape& in = b.in_shape(0);
  if (in.empty()) decline("a scalar input");
  ops::ResizeTaps taps = taps_of(b);
  if (taps.crop) decline("coordinate_transformation_mode tf_crop_and_resize not implemented");
  if (taps.axes[0].taps > 2) decline("mode cubic not implemented");
  return std::make_unique<ResizeKernel>(std::move(taps), in);
}

}  // namespace frugal::kernels::cpu
