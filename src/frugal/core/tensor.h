// Tensor: shape, dtype and aligned row-major storage. Storage is shared between
// copies (like a shared_ptr); clone() makes a deep copy. A tensor may also be a
// view into memory owned by someone else (an arena, a mapped file).
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "frugal/core/dtype.h"
#include "frugal/core/error.h"

namespace frugal {

using Shape = std::vector<int64_t>;

// Number of elements; throws UserError when a dimension is negative or the product overflows.
int64_t shape_numel(const Shape& shape);
std::string shape_str(const Shape& shape);  // "1x3x224x224", "scalar" for rank 0

// Bytes a tensor may take before frugal refuses to allocate it (physical memory).
size_t max_tensor_bytes();

inline constexpr size_t kTensorAlignment = 64;

class Tensor {
 public:
  Tensor() = default;
  // Allocates zero-initialised, 64-byte aligned storage. Throws UserError when the
  // size overflows or exceeds max_tensor_bytes().
  Tensor(DType dtype, Shape shape);
  // The same storage left uninitialised, for a caller that writes all of it (a model's
  // weights as they are read: zeroing 330 MB first costs a pass over fresh memory).
  static Tensor uninitialized(DType dtype, Shape shape);

  // A view of memory that `owner` keeps alive (may be null when the caller guarantees it).
  static Tensor wrap(DType dtype, Shape shape, void* data, std::shared_ptr<void> owner = nullptr);

  template <typename T>
  static Tensor from_vector(Shape shape, const std::vector<T>& values);
  template <typename T>
  static Tensor scalar(T value) {
    return from_vector<T>({}, std::vector<T>{value});
  }

  bool defined() const { return dtype_ != DType::kUndefined; }
  DType dtype() const { return dtype_; }
  const Shape& shape() const { return shape_; }
  int64_t rank() const { return static_cast<int64_t>(shape_.size()); }
  int64_t dim(int64_t i) const { return shape_.at(static_cast<size_t>(i < 0 ? i + rank() : i)); }
  int64_t numel() const { return numel_; }
  size_t nbytes() const { return static_cast<size_t>(numel_) * dtype_size(dtype_); }

  void* raw() { return data_; }
  const void* raw() const { return data_; }
  template <typename T>
  T* data() {
    check_type(dtype_of<T>());
    return static_cast<T*>(data_);
  }
  template <typename T>
  const T* data() const {
    check_type(dtype_of<T>());
    return static_cast<const T*>(data_);
  }
  template <typename T>
  std::span<T> span() {
    return {data<T>(), static_cast<size_t>(numel_)};
  }
  template <typename T>
  std::span<const T> span() const {
    return {data<T>(), static_cast<size_t>(numel_)};
  }

  Tensor clone() const;
  // Same storage, new shape of equal element count.
  Tensor reshaped(Shape shape) const;
  // Values of an integer tensor (any integer dtype) as int64; throws for other dtypes.
  std::vector<int64_t> to_int64() const;
  // Values of any numeric tensor converted to double.
  std::vector<double> to_double() const;
  // Element i converted to double (any numeric dtype).
  double at_double(int64_t i) const;
  // Converts to another dtype (saturating casts are not done: C++ conversion semantics).
  Tensor cast(DType to) const;
  // Bitwise equality of dtype, shape and contents.
  bool equals(const Tensor& other) const;

 private:
  void check_type(DType expected) const;
  DType dtype_ = DType::kUndefined;
  Shape shape_;
  int64_t numel_ = 0;
  std::shared_ptr<void> storage_;
  void* data_ = nullptr;
};

template <typename T>
Tensor Tensor::from_vector(Shape shape, const std::vector<T>& values) {
  Tensor t(dtype_of<T>(), std::move(shape));
  if (static_cast<int64_t>(values.size()) != t.numel())
    throw InternalError("Tensor::from_vector: " + std::to_string(values.size()) +
                        " values for shape " + shape_str(t.shape()));
  T* d = t.data<T>();
  for (size_t i = 0; i < values.size(); ++i) d[i] = values[i];
  return t;
}

// Calls f(T{}) with T the C++ type of a numeric dtype (float, double, ints, bool).
// Throws UnsupportedError for other dtypes.
template <typename F>
decltype(auto) visit_dtype(DType t, F&& f) {
  switch (t) {
    case DType::kF32: return f(float{});
    case DType::kF64: return f(double{});
    case DType::kI8: return f(int8_t{});
    case DType::kU8: return f(uint8_t{});
    case DType::kI16: return f(int16_t{});
    case DType::kU16: return f(uint16_t{});
    case DType::kI32: return f(int32_t{});
    case DType::kU32: return f(uint32_t{});
    case DType::kI64: return f(int64_t{});
    case DType::kU64: return f(uint64_t{});
    case DType::kBool: return f(bool{});
    default:
      throw UnsupportedError(std::string("dtype ") + std::string(dtype_name(t)) +
                             " is not supported here");
  }
}

}  // namespace frugal
