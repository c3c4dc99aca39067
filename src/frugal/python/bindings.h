// The pieces of the `_frugal` extension (module.cpp assembles them).
#pragma once

#include <pybind11/pybind11.h>

#include <memory>
#include <string>

#include "frugal/ir/graph.h"
#include "frugal/measure/engine.h"

namespace frugal::python {

namespace py = pybind11;

// A model as Python sees it: an immutable Graph (transforms return new Models) and where it
// came from, for messages and the Record's digest.
struct Model {
  std::shared_ptr<const ir::Graph> graph;
  std::string origin;  // a path, "zoo:NAME", or "NAME (compressed)"
  std::string path;    // the file whose bytes are this graph ("" when only in memory)
};
// SHA-256 of the model's ONNX bytes (of its file when it has one, as the CLI records it).
std::string model_digest(const Model& model);

void bind_errors(py::module_& m);
void bind_model(py::module_& m);
void bind_session(py::module_& m);
void bind_workflows(py::module_& m);
void bind_formats(py::module_& m);
void bind_explore(py::module_& m);

}  // namespace frugal::python
