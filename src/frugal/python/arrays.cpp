#include "frugal/python/arrays.h"

#include <cstring>

namespace frugal::python {
namespace {

struct DTypePair {
  DType frugal;
  char kind;  // numpy kind: f, i, u, b
  size_t size;
};
constexpr DTypePair kPairs[] = {
    {DType::kF32, 'f', 4}, {DType::kF64, 'f', 8}, {DType::kF16, 'f', 2}, {DType::kI8, 'i', 1},
    {DType::kU8, 'u', 1},  {DType::kI16, 'i', 2}, {DType::kU16, 'u', 2}, {DType::kI32, 'i', 4},
    {DType::kU32, 'u', 4}, {DType::kI64, 'i', 8}, {DType::kU64, 'u', 8}, {DType::kBool, 'b', 1},
};

std::string shape_text(const Shape& shape) {
  std::string s = "(";
  for (size_t i = 0; i < shape.size(); ++i)
    s += (i ? ", " : "") + std::to_string(shape[i]) + (shape.size() == 1 ? "," : "");
  return s + ")";
}

Shape shape_of(const py::array& a) {
  Shape s;
  for (py::ssize_t i = 0; i < a.ndim(); ++i) s.push_back(static_cast<int64_t>(a.shape(i)));
  return s;
}

Tensor view_or_copy(const py::array& array, DType dtype, const Shape& shape) {
  const bool contiguous = (array.flags() & py::array::c_style) != 0;
  const auto address = reinterpret_cast<uintptr_t>(array.data());
  if (contiguous && address % kTensorAlignment == 0) {
    // The Tensor holds a reference to the array (released under the GIL).
    auto* keep = new py::object(array);
    std::shared_ptr<void> owner(keep, [](void* p) {
      py::gil_scoped_acquire gil;
      delete static_cast<py::object*>(p);
    });
    return Tensor::wrap(dtype, shape, const_cast<void*>(array.data()), owner);
  }
  Tensor t(dtype, shape);
  const py::array packed = py::array::ensure(array, py::array::c_style);
  std::memcpy(t.raw(), packed.data(), t.nbytes());
  return t;
}

}  // namespace

py::dtype numpy_dtype(DType dtype) {
  for (const auto& p : kPairs)
    if (p.frugal == dtype)
      return py::dtype(std::string(1, p.kind == 'b' ? '?' : p.kind) +
                       (p.kind == 'b' ? "" : std::to_string(p.size)));
  throw py::type_error("frugal dtype " + std::string(dtype_name(dtype)) + " has no numpy dtype");
}

DType tensor_dtype(const py::dtype& dtype, const std::string& what) {
  for (const auto& p : kPairs)
    if (p.kind == dtype.kind() && p.size == static_cast<size_t>(dtype.itemsize())) return p.frugal;
  throw py::type_error(what + ": numpy dtype " + py::cast<std::string>(dtype.attr("name")) +
                       " is not one frugal computes with (float32, float64, float16, int8-64, "
                       "uint8-64, bool)");
}

std::string describe(DType dtype, const Shape& shape) {
  std::string name(dtype_name(dtype));
  if (dtype != DType::kBF16 && dtype != DType::kString)
    name = py::cast<std::string>(numpy_dtype(dtype).attr("name"));
  return name + " " + shape_text(shape);
}

Tensor to_tensor(const py::array& array, const runtime::Session::Port& port) {
  const Shape shape = shape_of(array);
  const DType dtype = tensor_dtype(array.dtype(), "input '" + port.name + "'");
  if (dtype != port.dtype || shape != port.shape)
    throw py::type_error("input '" + port.name + "': expected " + describe(port.dtype, port.shape) +
                         ", got " + describe(dtype, shape));
  return view_or_copy(array, dtype, shape);
}

Tensor to_tensor(const py::array& array, const std::string& what) {
  return view_or_copy(array, tensor_dtype(array.dtype(), what), shape_of(array));
}

py::array to_numpy(const Tensor& tensor) {
  auto* keep = new Tensor(tensor);  // shares the storage
  py::capsule owner(keep, [](void* p) { delete static_cast<Tensor*>(p); });
  std::vector<py::ssize_t> shape(tensor.shape().begin(), tensor.shape().end());
  return py::array(numpy_dtype(tensor.dtype()), shape, keep->raw(), owner);
}

}  // namespace frugal::python
