// Pad in every mode ONNX has (constant, reflect, edge, wrap; negative pads crop) as an own
// copy over plain row-major tensors of any dtype, parallel over output rows: TF exports pad
// explicitly before their convolutions, and the reference kernel ran each one on one thread
// between two layout conversions. Constant pads, values and axes only (known when building).
#include <algorithm>
#include <cstring>
#include <string>
#include <vector>

#include "frugal/kernels/cpu/data_movement_factories.h"
#include "frugal/kernels/cpu/threads.h"
#include "frugal/ops/data_movement.h"
#include "frugal/ops/pad_plan.h"

namespace frugal::kernels::cpu {
namespace {

constexpr int64_t kFill = -1;

// A run of an output row along the last axis: `length` elements copied from the source
// row at element `src` on (kFill: the fill value).
struct Segment {
  int64_t length, src;
};

// The last axis' output positions as runs of consecutive source elements or fill.
std::vector<Segment> row_segments(ops::PadMode mode, int64_t begin, int64_t in, int64_t out) {
  std::vector<Segment> segs;
  for (int64_t j = 0; j < out; ++j) {
    const int64_t s = ops::source_index(mode, j - begin, in);
    const int64_t src = s < 0 ? kFill : s;
    if (!segs.empty()) {
      Segment& last = segs.back();
      const bool extends =
          src == kFill ? last.src == kFill : last.src != kFill && last.src + last.length == src;
      if (extends) {
        ++last.length;
        continue;
      }
    }
    segs.push_back({1, src});
  }
  return segs;
}

class PadKernel final : public kernels::Kernel {
 public:
  PadKernel(const Shape& in, const ops::PadPlan& plan, std::vector<unsigned char> fill)
      : elem_(fill.size()), fill_(std::move(fill)) {
    const size_t r = in.size();
    std::vector<int64_t> stride(r, 1);
    for (size_t d = r - 1; d > 0; --d) stride[d - 1] = stride[d] * in[d];
    for (size_t d = 0; d + 1 < r; ++d) {
      std::vector<int64_t> axis(static_cast<size_t>(plan.out[d]));
      for (int64_t i = 0; i < plan.out[d]; ++i) {
        const int64_t s = ops::source_index(plan.mode, i - plan.begin[d], in[d]);
        axis[static_cast<size_t>(i)] = s < 0 ? kFill : s * stride[d];
      }
      row_offsets_.push_back(std::move(axis));
      rows_ *= plan.out[d];
    }
    row_length_ = plan.out[r - 1];
    segments_ = row_segments(plan.mode, plan.begin[r - 1], in[r - 1], row_length_);
  }

  void run(ops::KernelContext& ctx) override {
    const char* src = static_cast<const char*>(ctx.input(0).raw());
    char* dst = static_cast<char*>(ctx.output(0).raw());
    const int64_t row_bytes = row_length_ * static_cast<int64_t>(elem_);
    const int threads = static_cast<int>(std::clamp<int64_t>(
        rows_ * row_bytes / static_cast<int64_t>(sizeof(float)) / min_floats_per_thread(), 1,
        int64_t{num_threads()}));
    parallel_split(threads, rows_, [&](int64_t begin, int64_t end) {
      for (int64_t row = begin; row < end; ++row) write_row(src, dst + row * row_bytes, row);
    });
  }
  std::string impl() const override { return "loop"; }

 private:
  void fill(char* dst, int64_t count) const {
    for (int64_t i = 0; i < count; ++i) std::memcpy(dst + i * elem_, fill_.data(), elem_);
  }

  void write_row(const char* src, char* dst, int64_t row) const {
    int64_t offset = 0;
    for (size_t d = row_offsets_.size(); d > 0; --d) {
      const auto& axis = row_offsets_[d - 1];
      const int64_t n = static_cast<int64_t>(axis.size());
      const int64_t o = axis[static_cast<size_t>(row % n)];
      row /= n;
      if (o == kFill) return fill(dst, row_length_);
      offset += o;
    }
    const char* from = src + offset * static_cast<int64_t>(elem_);
    for (const Segment& s : segments_) {
      if (s.src == kFill)
        fill(dst, s.length);
      else
        std::memcpy(dst, from + s.src * static_cast<int64_t>(elem_),
                    static_cast<size_t>(s.length) * elem_);
      dst += s.length * static_cast<int64_t>(elem_);
    }
  }

  size_t elem_;
  std::vector<unsigned char> fill_;                // one element's bytes
  std::vector<std::vector<int64_t>> row_offsets_;  // per row axis, per index: source offset
  int64_t rows_ = 1, row_length_ = 0;
  std::vector<Segment> segments_;
};

}  // namespace

std::unique_ptr<kernels::Kernel> make_pad(const Build& b) {
  const Shape& in = b.in_shape(0);
  const DType dtype = b.view.inputs[0]->dtype;
  if (in.empty()) decline("a scalar input");
  std::vector<unsigned char> fill(dtype_size(dtype), 0);
  ops::PadPlan plan;
  if (b.view.opset < 11) {
    plan = ops::plan_pad(b.node(), b.view.opset, in, nullptr, nullptr);
    fill = ops::scalar_bytes(dtype, b.node().attr_float("value", 0.0f));
  } else {
    const Tensor* pads = b.constant(1);
    if (!pads) decline("pads known only at run time not implemented");
    if (b.has_input(3) && !b.constant(3)) decline("axes known only at run time not implemented");
    plan = ops::plan_pad(b.node(), b.view.opset, in, pads, b.constant(3));
    if (b.has_input(2)) {
      const Tensor* value = b.constant(2);
      if (!value) decline("constant_value known only at run time not implemented");
      if (value->numel() > 0) std::memcpy(fill.data(), value->raw(), fill.size());
    }
  }
  return std::make_unique<PadKernel>(in, plan, std::move(fill));
}

}  // namespace frugal::kernels::cpu
