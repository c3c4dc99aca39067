// numpy <-> Tensor at the Python boundary: zero-copy where the layout allows it.
#pragma once

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <string>

#include "frugal/core/tensor.h"
#include "frugal/runtime/session.h"

namespace frugal::python {

namespace py = pybind11;

// The numpy dtype of a Tensor dtype; TypeError for those numpy lacks (bfloat16, string).
py::dtype numpy_dtype(DType dtype);
// The Tensor dtype of a numpy dtype; TypeError naming `what` when frugal has none.
DType tensor_dtype(const py::dtype& dtype, const std::string& what);

// A view of `array` for the port (its dtype and shape exactly, else a TypeError naming the
// expected ones). Zero-copy when C-contiguous and 64-byte aligned (the Tensor keeps the
// array alive); otherwise one copy into aligned storage.
Tensor to_tensor(const py::array& array, const runtime::Session::Port& port);
// Any C-contiguous-able array of a frugal dtype (same copy rule), for free-standing calls.
Tensor to_tensor(const py::array& array, const std::string& what);

// A numpy array over the tensor's storage (no copy; the array keeps the storage alive).
py::array to_numpy(const Tensor& tensor);

// "float32 (1, 1, 28, 28)"
std::string describe(DType dtype, const Shape& shape);

}  // namespace frugal::python
