#include "frugal/core/tensor.h"

#include <unistd.h>

#include <cstdlib>
#include <cstring>

#include "frugal/core/host_memory.h"

namespace frugal {

int64_t shape_numel(const Shape& shape) {
  int64_t n = 1;
  for (int64_t d : shape) {
    if (d < 0) throw UserError("negative dimension in shape " + shape_str(shape));
    if (d != 0 && n > INT64_MAX / d) throw UserError("shape " + shape_str(shape) + " overflows");
    n *= d;
  }
  return n;
}

std::string shape_str(const Shape& shape) {
  if (shape.empty()) return "scalar";
  std::string s;
  for (size_t i = 0; i < shape.size(); ++i) {
    if (i) s += "x";
    s += std::to_string(shape[i]);
  }
  return s;
}

size_t max_tensor_bytes() {
  static const size_t limit = [] {
    long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
    if (pages <= 0 || page <= 0) return size_t{1} << 34;
    return static_cast<size_t>(pages) * static_cast<size_t>(page);
  }();
  return limit;
}

namespace {

size_t allocation_bytes(size_t bytes) {
  const size_t alloc = (bytes + kTensorAlignment - 1) / kTensorAlignment * kTensorAlignment;
  return alloc == 0 ? kTensorAlignment : alloc;
}

}  // namespace

Tensor Tensor::uninitialized(DType dtype, Shape shape) {
  if (dtype == DType::kUndefined || dtype == DType::kString)
    throw UnsupportedError(std::string("cannot allocate a tensor of dtype ") +
                           std::string(dtype_name(dtype)));
  Tensor t;
  t.dtype_ = dtype;
  t.shape_ = std::move(shape);
  t.numel_ = shape_numel(t.shape_);
  const size_t esize = dtype_size(dtype);
  if (static_cast<uint64_t>(t.numel_) > max_tensor_bytes() / esize)
    throw UserError("tensor of shape " + shape_str(t.shape_) + " (" +
                    std::string(dtype_name(dtype)) + ") needs more memory than this machine has");
  void* p =
      allocate_host(allocation_bytes(static_cast<size_t>(t.numel_) * esize), kTensorAlignment);
  if (!p) throw UserError("out of memory allocating tensor of shape " + shape_str(t.shape_));
  t.storage_ = std::shared_ptr<void>(p, [](void* q) { std::free(q); });
  t.data_ = p;
  return t;
}

Tensor::Tensor(DType dtype, Shape shape) : Tensor(uninitialized(dtype, std::move(shape))) {
  std::memset(data_, 0, allocation_bytes(nbytes()));
}

Tensor Tensor::wrap(DType dtype, Shape shape, void* data, std::shared_ptr<void> owner) {
  Tensor t;
  t.dtype_ = dtype;
  t.shape_ = std::move(shape);
  t.numel_ = shape_numel(t.shape_);
  t.storage_ = std::move(owner);
  t.data_ = data;
  return t;
}

void Tensor::check_type(DType expected) const {
  if (expected != dtype_)
    throw InternalError("tensor of dtype " + std::string(dtype_name(dtype_)) + " accessed as " +
                        std::string(dtype_name(expected)));
}

Tensor Tensor::clone() const {
  if (!defined()) return {};
  Tensor t(dtype_, shape_);
  if (nbytes()) std::memcpy(t.data_, data_, nbytes());
  return t;
}

Tensor Tensor::reshaped(Shape shape) const {
  int64_t n = shape_numel(shape);
  if (n != numel_)
    throw InternalError("reshape of " + shape_str(shape_) + " to " + shape_str(shape));
  Tensor t = *this;
  t.shape_ = std::move(shape);
  return t;
}

std::vector<int64_t> Tensor::to_int64() const {
  if (!dtype_is_integer(dtype_) && dtype_ != DType::kBool)
    throw UserError("expected an integer tensor, got " + std::string(dtype_name(dtype_)));
  std::vector<int64_t> out(static_cast<size_t>(numel_));
  visit_dtype(dtype_, [&](auto tag) {
    using T = decltype(tag);
    const T* d = static_cast<const T*>(data_);
    for (int64_t i = 0; i < numel_; ++i) out[i] = static_cast<int64_t>(d[i]);
  });
  return out;
}

double Tensor::at_double(int64_t i) const {
  return visit_dtype(dtype_, [&](auto tag) -> double {
    using T = decltype(tag);
    return static_cast<double>(static_cast<const T*>(data_)[i]);
  });
}

std::vector<double> Tensor::to_double() const {
  std::vector<double> out(static_cast<size_t>(numel_));
  visit_dtype(dtype_, [&](auto tag) {
    using T = decltype(tag);
    const T* d = static_cast<const T*>(data_);
    for (int64_t i = 0; i < numel_; ++i) out[i] = static_cast<double>(d[i]);
  });
  return out;
}

Tensor Tensor::cast(DType to) const {
  if (to == dtype_) return clone();
  Tensor out(to, shape_);
  visit_dtype(dtype_, [&](auto from_tag) {
    using From = decltype(from_tag);
    const From* src = static_cast<const From*>(data_);
    visit_dtype(to, [&](auto to_tag) {
      using To = decltype(to_tag);
      To* dst = static_cast<To*>(out.data_);
      for (int64_t i = 0; i < numel_; ++i) dst[i] = static_cast<To>(src[i]);
    });
  });
  return out;
}

bool Tensor::equals(const Tensor& other) const {
  if (dtype_ != other.dtype_ || shape_ != other.shape_) return false;
  return nbytes() == 0 || std::memcmp(data_, other.data_, nbytes()) == 0;
}

}  // namespace frugal
