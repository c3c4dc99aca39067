#include "frugal/ops/data_movement.h"

#include <cstring>

namespace frugal::ops {
namespace {

// One output row (the last axis): element copies with a compile-time element size so
// the memcpy becomes a single move.
template <size_t kSize>
void copy_row(char* dst, const char* src, int64_t base, const std::vector<int64_t>& offsets,
              const void* fill, size_t) {
  for (size_t j = 0; j < offsets.size(); ++j) {
    const int64_t off = offsets[j];
    const void* from = off == kFillOffset ? fill : src + (base + off) * int64_t{kSize};
    std::memcpy(dst + j * kSize, from, kSize);
  }
}

template <>
void copy_row<0>(char* dst, const char* src, int64_t base, const std::vector<int64_t>& offsets,
                 const void* fill, size_t elem_size) {
  for (size_t j = 0; j < offsets.size(); ++j) {
    const int64_t off = offsets[j];
    const void* from =
        off == kFillOffset ? fill : src + (base + off) * static_cast<int64_t>(elem_size);
    std::memcpy(dst + j * elem_size, from, elem_size);
  }
}

}  // namespace

void copy_by_axis_offsets(void* dst, const void* src, size_t elem_size, const Shape& out_shape,
                          const std::vector<std::vector<int64_t>>& axis_offsets, const void* fill) {
  const int64_t n = shape_numel(out_shape);
  if (n == 0) return;
  char* d = static_cast<char*>(dst);
  const char* s = static_cast<const char*>(src);
  const size_t r = out_shape.size();
  if (r == 0) {
    std::memcpy(d, s, elem_size);
    return;
  }
  FRUGAL_CHECK(axis_offsets.size() == r, "one offset list per axis");
  for (size_t a = 0; a < r; ++a)
    FRUGAL_CHECK(static_cast<int64_t>(axis_offsets[a].size()) == out_shape[a],
                 "offset list length matches the axis");

  const std::vector<int64_t>& last = axis_offsets[r - 1];
  const int64_t inner = out_shape[r - 1];
  bool contiguous = last[0] != kFillOffset;
  for (int64_t j = 1; j < inner && contiguous; ++j) contiguous = last[j] == last[0] + j;
  const size_t row_bytes = static_cast<size_t>(inner) * elem_size;

  auto row_fn = &copy_row<0>;
  switch (elem_size) {
    case 1:
      row_fn = &copy_row<1>;
      break;
    case 2:
      row_fn = &copy_row<2>;
      break;
    case 4:
      row_fn = &copy_row<4>;
      break;
    case 8:
      row_fn = &copy_row<8>;
      break;
    default:
      break;
  }

  std::vector<int64_t> idx(r - 1, 0);
  const int64_t rows = n / inner;
  for (int64_t row = 0; row < rows; ++row) {
    int64_t base = 0;
    bool fill_row = false;
    for (size_t a = 0; a + 1 < r; ++a) {
      const int64_t off = axis_offsets[a][idx[a]];
      if (off == kFillOffset) {
        fill_row = true;
        break;
      }
      base += off;
    }
    if (fill_row) {
      for (int64_t j = 0; j < inner; ++j) std::memcpy(d + j * elem_size, fill, elem_size);
    } else if (contiguous) {
      std::memcpy(d, s + (base + last[0]) * static_cast<int64_t>(elem_size), row_bytes);
    } else {
      row_fn(d, s, base, last, fill, elem_size);
    }
    d += row_bytes;
    for (size_t a = r - 1; a-- > 0;) {
      if (++idx[a] < out_shape[a]) break;
      idx[a] = 0;
    }
  }
}

std::vector<unsigned char> scalar_bytes(DType dtype, double value) {
  std::vector<unsigned char> bytes(dtype_size(dtype));
  if (dtype == DType::kF16 || dtype == DType::kBF16) {
    const float f = static_cast<float>(value);
    const uint16_t h = dtype == DType::kF16 ? float_to_half(f) : float_to_bf16(f);
    std::memcpy(bytes.data(), &h, sizeof h);
    return bytes;
  }
  visit_dtype(dtype, [&](auto tag) {
    using T = decltype(tag);
    const T v = saturate_cast<T>(value);
    std::memcpy(bytes.data(), &v, sizeof v);
  });
  return bytes;
}

void require_storable(const InferContext& ctx, size_t input) {
  DType t = ctx.dtype(input);
  if (t == DType::kString || t == DType::kUndefined)
    ctx.unsupported("input " + std::to_string(input) + " has dtype " + std::string(dtype_name(t)) +
                    ", which is not supported");
}

std::vector<int64_t> int_list_input(const ir::Node& node, const Tensor& t, const char* what,
                                    bool allow_scalar) {
  if (!dtype_is_integer(t.dtype()))
    throw UserError(node.describe() + ": input '" + what + "' must be an integer tensor, got " +
                    std::string(dtype_name(t.dtype())));
  if (t.rank() != 1 && !(allow_scalar && t.rank() == 0))
    throw UserError(node.describe() + ": input '" + what + "' must be 1-D, got shape " +
                    shape_str(t.shape()));
  return t.to_int64();
}

}  // namespace frugal::ops
