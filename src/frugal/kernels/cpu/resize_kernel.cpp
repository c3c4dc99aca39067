// Resize and Upsample, modes nearest and linear, as an own loop over float32 tensors in the
// producer's layout: every segmentation head, FPN and YOLO neck upsamples a convolution's
// output, which the reference kernel read on one thread between two layout conversions.
//
// The per-axis taps (which input indices, with which weights) come from ops/resize.h, the
// reference kernel's own, so every coordinate transformation and nearest mode is computed
// in one place. The tensor is walked in memory order: the innermost axis is a "row", the
// one before it a "line" of rows, the axes before that "planes". An output line is made
// from the input lines its plane taps name (blended once into a buffer when there are
// several), each output row from the rows of that line its line taps name, and the row's
// own taps apply last when the innermost axis is resized too. Channels-last (NHWC from the
// convolutions) makes rows whole pixels, so a bilinear output pixel is two blends of C
// floats and nearest a copy; plain NCHW makes rows image rows, blended then resampled.
#include <algorithm>
#include <cstring>
#include <numeric>
#include <string>
#include <vector>

#include "frugal/core/error.h"
#include "frugal/kernels/cpu/own_loop.h"
#include "frugal/kernels/cpu/resize_factories.h"
#include "frugal/kernels/cpu/sparse_kernels.h"
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

// The walk described at the top, over axes in memory order.
struct ResizePlan {
  std::vector<AxisPlan> planes;    // the plane axes', offsets from the input's start
  std::vector<int64_t> plane_out;  // their output lengths
  AxisPlan line;                   // offsets from the line's start
  AxisPlan row;                    // offsets from the row's start; unused when identity
  bool row_identity = true;
  int64_t in_line = 0, in_row = 0;    // floats in an input line and row
  int64_t out_line = 0, out_row = 0;  // output rows per line, floats per output row
  int64_t rows = 0;                   // output rows in all
};

ResizePlan plan_of(const ops::ResizeTaps& taps, const std::vector<size_t>& order, const Shape& in) {
  std::vector<const ops::AxisTaps*> axis;
  Shape in_m, out_m;
  for (size_t a : order) {
    axis.push_back(&taps.axes[a]);
    in_m.push_back(in[a]);
    out_m.push_back(taps.out[a]);
  }
  const ops::AxisTaps unit{.index = {0}, .weight = {1.0}, .outside = {false}};
  while (in_m.size() < 2) {  // a rank-1 tensor is one line of one row
    axis.insert(axis.begin(), &unit);
    in_m.insert(in_m.begin(), 1);
    out_m.insert(out_m.begin(), 1);
  }
  const size_t r = in_m.size();
  std::vector<int64_t> stride(r, 1);
  for (size_t d = r - 1; d > 0; --d) stride[d - 1] = stride[d] * in_m[d];
  ResizePlan p;
  for (size_t d = 0; d + 2 < r; ++d) {
    p.planes.push_back(axis_plan(*axis[d], out_m[d], stride[d]));
    p.plane_out.push_back(out_m[d]);
  }
  p.line = axis_plan(*axis[r - 2], out_m[r - 2], stride[r - 2]);
  p.row = axis_plan(*axis[r - 1], out_m[r - 1], 1);
  p.row_identity = axis[r - 1]->identity;
  p.in_row = in_m[r - 1];
  p.in_line = in_m[r - 2] * p.in_row;
  p.out_row = out_m[r - 1];
  p.out_line = out_m[r - 2];
  p.rows = std::accumulate(out_m.begin(), out_m.end() - 1, int64_t{1}, std::multiplies<>());
  return p;
}

// dst[i] = sum over taps of weight * base[offset + i], i < len.
void blend(float* dst, const float* base, const Tap* taps, size_t n, int64_t len) {
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

// dst[x] from the taps of x along the row.
void resample_row(float* dst, const float* src, const AxisPlan& row, int64_t len) {
  for (int64_t x = 0; x < len; ++x) {
    float s = 0;
    for (const Tap* t = row.begin(x); t != row.end(x); ++t) s += t->weight * src[t->offset];
    dst[x] = s;
  }
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

// Output rows [begin, end).
void run_rows(const ResizePlan& p, const float* in, float* out, int64_t begin, int64_t end) {
  thread_local std::vector<float> line_buf, row_buf;
  thread_local std::vector<Tap> lines, scratch;
  int64_t plane = -1;
  const float* line = nullptr;
  for (int64_t r = begin; r < end; ++r) {
    if (r / p.out_line != plane) {
      plane = r / p.out_line;
      plane_taps(p, plane, lines, scratch);
      if (lines.size() == 1 && lines[0].weight == 1.0f) {
        line = in + lines[0].offset;
      } else {
        line_buf.resize(static_cast<size_t>(p.in_line));
        blend(line_buf.data(), in, lines.data(), lines.size(), p.in_line);
        line = line_buf.data();
      }
    }
    const int64_t x = r % p.out_line;
    const Tap* t = p.line.begin(x);
    const size_t n = static_cast<size_t>(p.line.end(x) - t);
    float* dst = out + r * p.out_row;
    if (p.row_identity) {
      blend(dst, line, t, n, p.in_row);
      continue;
    }
    const float* src = line + t->offset;
    if (n != 1 || t->weight != 1.0f) {
      row_buf.resize(static_cast<size_t>(p.in_row));
      blend(row_buf.data(), line, t, n, p.in_row);
      src = row_buf.data();
    }
    resample_row(dst, src, p.row, p.out_row);
  }
}

// A dense layout of `shape` whose axes lie in memory in `order` (outermost first).
dnnl::memory::desc ordered_md(const Shape& shape, const std::vector<size_t>& order) {
  dnnl::memory::dims strides(shape.size());
  int64_t s = 1;
  for (size_t k = order.size(); k-- > 0;) {
    strides[order[k]] = s;
    s *= shape[order[k]];
  }
  return dnnl::memory::desc(shape, dt::f32, strides);
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

}  // namespace

std::unique_ptr<kernels::Kernel> make_resize(const Build& b) {
  const Shape& in = b.in_shape(0);
  if (in.empty()) decline("a scalar input");
  const ops::ResizeTaps taps = taps_of(b);
  if (taps.crop) decline("coordinate_transformation_mode tf_crop_and_resize not implemented");
  if (taps.axes[0].taps > 2) decline("mode cubic not implemented");
  std::vector<size_t> order(in.size());
  std::iota(order.begin(), order.end(), size_t{0});
  std::string layout = "plain";
  if (const dnnl::memory::desc* hint = b.hint(0); hint && in.size() >= 3) {
    const std::vector<size_t> last = channels_last_order(in.size());
    if (*hint == ordered_md(in, last)) {
      order = last;
      layout = in.size() == 4 ? "nhwc" : in.size() == 5 ? "ndhwc" : "channels_last";
    }
  }
  auto plan = std::make_shared<ResizePlan>(plan_of(taps, order, in));
  const int64_t floats = shape_numel(taps.out);
  return own_loop_kernel(
      b, ordered_md(in, order), ordered_md(taps.out, order),
      [plan, floats](const float* src, float* dst) {
        const int threads = static_cast<int>(
            std::clamp<int64_t>(floats / min_floats_per_thread(), 1, int64_t{num_threads()}));
        parallel_split(threads, plan->rows,
                       [&](int64_t begin, int64_t end) { run_rows(*plan, src, dst, begin, end); });
      },
      "loop:resize:" + layout);
}

}  // namespace frugal::kernels::cpu
