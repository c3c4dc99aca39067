// Slice (constant starts/ends/axes/steps) and Gather (any axis, constant or run-time int32/
// int64 indices) as own copies over plain row-major tensors of any dtype: transformers'
// and detection heads' Slice/Gather (an embedding lookup is a row copy) stay on cpu instead
// of a single-threaded reference kernel between layout conversions. Rows are split over
// the backend's threads when the copy is large enough to pay for them (threads.h).
#include <algorithm>
#include <cstring>
#include <optional>
#include <string>
#include <vector>

#include "frugal/kernels/cpu/data_movement_factories.h"
#include "frugal/kernels/cpu/threads.h"
#include "frugal/kernels/views.h"
#include "frugal/ops/slice_plan.h"

namespace frugal::kernels::cpu {
namespace {

// Threads for a copy of `bytes`: one per min_floats_per_thread() floats' worth.
int copy_threads(int64_t bytes) {
  const int64_t floats = bytes / static_cast<int64_t>(sizeof(float));
  return static_cast<int>(
      std::clamp<int64_t>(floats / min_floats_per_thread(), 1, int64_t{num_threads()}));
}

// `count` elements of `elem` bytes, `step` elements apart in the source, packed in dst.
void strided_copy(char* dst, const char* src, int64_t count, int64_t step, size_t elem) {
  if (step == 1) {
    std::memcpy(dst, src, static_cast<size_t>(count) * elem);
    return;
  }
  auto typed = [&](auto tag) {
    using T = decltype(tag);
    T* d = reinterpret_cast<T*>(dst);
    const T* s = reinterpret_cast<const T*>(src);
    for (int64_t i = 0; i < count; ++i) std::memcpy(d + i, s + i * step, sizeof(T));
  };
  switch (elem) {
    case 1:
      return typed(uint8_t{});
    case 2:
      return typed(uint16_t{});
    case 4:
      return typed(uint32_t{});
    case 8:
      return typed(uint64_t{});
    default:
      for (int64_t i = 0; i < count; ++i)
        std::memcpy(dst + static_cast<size_t>(i) * elem, src + static_cast<size_t>(i * step) * elem,
                    elem);
  }
}

// The window of each axis with trailing whole axes folded into the one before them while
// it is read with step 1, so that each row copied is as long as possible.
struct SliceGeometry {
  std::vector<int64_t> dims;  // input dims
  std::vector<ops::AxisWindow> window;
};

SliceGeometry fold_trailing(const Shape& in, std::vector<ops::AxisWindow> window) {
  SliceGeometry g{std::vector<int64_t>(in.begin(), in.end()), std::move(window)};
  while (g.dims.size() > 1) {
    const size_t last = g.dims.size() - 1;
    const ops::AxisWindow& w = g.window[last];
    ops::AxisWindow& prev = g.window[last - 1];
    if (w.start != 0 || w.step != 1 || w.length != g.dims[last] || prev.step != 1) break;
    prev.start *= g.dims[last];
    prev.length *= g.dims[last];
    g.dims[last - 1] *= g.dims[last];
    g.dims.pop_back();
    g.window.pop_back();
  }
  return g;
}

class SliceKernel final : public kernels::Kernel {
 public:
  SliceKernel(const SliceGeometry& g, size_t elem) : elem_(elem) {
    const size_t r = g.dims.size();
    std::vector<int64_t> stride(r, 1);
    for (size_t d = r - 1; d > 0; --d) stride[d - 1] = stride[d] * g.dims[d];
    for (size_t d = 0; d < r; ++d) base_ += g.window[d].start * stride[d];
    for (size_t d = 0; d + 1 < r; ++d) {
      row_dims_.push_back(g.window[d].length);
      row_step_.push_back(g.window[d].step * stride[d]);
      rows_ *= g.window[d].length;
    }
    length_ = g.window[r - 1].length;
    step_ = g.window[r - 1].step;
  }

  void run(ops::KernelContext& ctx) override {
    const char* src = static_cast<const char*>(ctx.input(0).raw());
    char* dst = static_cast<char*>(ctx.output(0).raw());
    const int64_t row_bytes = length_ * static_cast<int64_t>(elem_);
    parallel_split(copy_threads(rows_ * row_bytes), rows_, [&](int64_t begin, int64_t end) {
      copy_rows(src, dst + begin * row_bytes, begin, end);
    });
  }
  std::string impl() const override { return "loop"; }

 private:
  // Rows [begin, end): the index of `begin` along each row axis, then an odometer.
  void copy_rows(const char* src, char* dst, int64_t begin, int64_t end) const {
    const size_t r = row_dims_.size();
    std::vector<int64_t> index(r, 0);
    int64_t offset = base_;
    for (size_t d = r, rest = static_cast<size_t>(begin); d > 0; --d) {
      index[d - 1] = static_cast<int64_t>(rest) % row_dims_[d - 1];
      rest /= static_cast<size_t>(row_dims_[d - 1]);
      offset += index[d - 1] * row_step_[d - 1];
    }
    for (int64_t row = begin; row < end; ++row) {
      strided_copy(dst, src + offset * static_cast<int64_t>(elem_), length_, step_, elem_);
      dst += length_ * static_cast<int64_t>(elem_);
      for (size_t d = r; d > 0; --d) {
        offset += row_step_[d - 1];
        if (++index[d - 1] < row_dims_[d - 1]) break;
        offset -= index[d - 1] * row_step_[d - 1];
        index[d - 1] = 0;
      }
    }
  }

  size_t elem_;
  int64_t base_ = 0, rows_ = 1, length_ = 0, step_ = 1;
  std::vector<int64_t> row_dims_, row_step_;  // per row axis: its length, its source step
};

// Gather: for each of `outer` slabs of the input, the blocks of `block` bytes at the
// indexed rows, in index order. One constant index with nothing before the axis (torch's
// qkv[0] splitting attention's packed Q, K, V) is one block of the input: a view
// (kernels/views.h), which the Session then places in the input's buffer.
class GatherKernel final : public kernels::Kernel, public kernels::OutputAsView {
 public:
  GatherKernel(int64_t outer, int64_t dim, size_t block, std::vector<int64_t> constant_rows,
               int64_t count)
      : outer_(outer), dim_(dim), block_(block), rows_(std::move(constant_rows)), count_(count) {
    if (rows_.empty()) run_rows_.reserve(static_cast<size_t>(count_));
  }

  void run(ops::KernelContext& ctx) override {
    if (rows_.empty()) read_indices(ctx);
    const char* src = static_cast<const char*>(ctx.input(0).raw());
    char* dst = static_cast<char*>(ctx.output(0).raw());
    const int64_t blocks = outer_ * count_;
    const int64_t* rows = rows_.empty() ? run_rows_.data() : rows_.data();
    parallel_split(copy_threads(blocks * static_cast<int64_t>(block_)), blocks,
                   [&](int64_t begin, int64_t end) {
                     for (int64_t k = begin; k < end; ++k) {
                       const int64_t o = k / count_, row = rows[k % count_];
                       std::memcpy(dst + static_cast<size_t>(k) * block_,
                                   src + static_cast<size_t>(o * dim_ + row) * block_, block_);
                     }
                   });
  }
  std::string impl() const override { return "loop"; }
  std::optional<kernels::InputBytes> output_view(size_t index) const override {
    if (index != 0 || outer_ != 1 || rows_.size() != 1) return std::nullopt;
    return kernels::InputBytes{0, static_cast<size_t>(rows_[0]) * block_};
  }

 private:
  // Run-time indices, checked (negative ones count from the end) into run_rows_, whose
  // capacity was reserved at build time.
  void read_indices(const ops::KernelContext& ctx) {
    const Tensor& t = ctx.input(1);
    run_rows_.resize(static_cast<size_t>(count_));
    for (int64_t i = 0; i < count_; ++i) {
      const int64_t v = t.dtype() == DType::kI64 ? t.data<int64_t>()[i] : t.data<int32_t>()[i];
      if (v < -dim_ || v >= dim_)
        ctx.fail("index " + std::to_string(v) + " is out of range for an axis of size " +
                 std::to_string(dim_));
      run_rows_[static_cast<size_t>(i)] = v < 0 ? v + dim_ : v;
    }
  }

  int64_t outer_, dim_;
  size_t block_;
  std::vector<int64_t> rows_;  // constant indices, normalized; empty when read at run time
  std::vector<int64_t> run_rows_;
  int64_t count_;
};

const Tensor* constant_or_decline(const Build& b, size_t i, const char* what) {
  if (!b.has_input(i)) return nullptr;
  const Tensor* t = b.constant(i);
  if (!t) decline(std::string(what) + " known only at run time not implemented");
  return t;
}

}  // namespace

std::unique_ptr<kernels::Kernel> make_slice(const Build& b) {
  const Shape& in = b.in_shape(0);
  const size_t elem = dtype_size(b.view.inputs[0]->dtype);
  std::vector<ops::AxisWindow> window;
  if (b.view.opset < 10) {
    window = ops::plan_slice(b.node(), b.view.opset, in, nullptr, nullptr, nullptr, nullptr);
  } else {
    const Tensor* starts = constant_or_decline(b, 1, "starts");
    const Tensor* ends = constant_or_decline(b, 2, "ends");
    const Tensor* axes = constant_or_decline(b, 3, "axes");
    const Tensor* steps = constant_or_decline(b, 4, "steps");
    window = ops::plan_slice(b.node(), b.view.opset, in, starts, ends, axes, steps);
  }
  return std::make_unique<SliceKernel>(fold_trailing(in, std::move(window)), elem);
}

std::unique_ptr<kernels::Kernel> make_gather(const Build& b) {
  const Shape& in = b.in_shape(0);
  const auto& indices = *b.view.inputs.at(1);
  if (indices.dtype != DType::kI64 && indices.dtype != DType::kI32)
    decline(std::string(dtype_name(indices.dtype)) + " indices not implemented");
  if (!indices.shape) decline("indices of a shape known only at run time not implemented");
  const int64_t r = static_cast<int64_t>(in.size());
  int64_t axis = b.node().attr_int("axis", 0);
  if (axis < 0) axis += r;
  int64_t outer = 1, inner = 1;
  for (int64_t d = 0; d < axis; ++d) outer *= in[d];
  for (int64_t d = axis + 1; d < r; ++d) inner *= in[d];
  const int64_t dim = in[axis], count = shape_numel(*indices.shape);
  std::vector<int64_t> rows;
  if (const Tensor* c = b.constant(1)) {
    rows = c->to_int64();
    for (int64_t& v : rows) {
      // Out of range: ref reports it with the node's name.
      if (v < -dim || v >= dim) decline("index " + std::to_string(v) + " out of range");
      if (v < 0) v += dim;
    }
  }
  const size_t block = static_cast<size_t>(inner) * dtype_size(b.view.inputs[0]->dtype);
  return std::make_unique<GatherKernel>(outer, dim, block, std::move(rows), count);
}

}  // namespace frugal::kernels::cpu
