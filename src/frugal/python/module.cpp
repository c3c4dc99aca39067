// The `_frugal` extension: errors, Model and the zoo here; the rest in bind_* files.
#include <pybind11/stl.h>

#include <filesystem>

#include "frugal/core/error.h"
#include "frugal/ir/onnx_io.h"
#include "frugal/kernels/thread_environment.h"
#include "frugal/measure/sha256.h"
#include "frugal/ops/cost.h"
#include "frugal/python/bindings.h"
#include "frugal/zoo/zoo.h"

namespace frugal::python {

std::string model_digest(const Model& model) {
  if (!model.path.empty()) return measure::sha256_file(model.path);
  return measure::sha256_hex(ir::serialize_onnx(*model.graph));
}

void bind_errors(py::module_& m) {
  // frugal.Error is a ValueError; frugal.FileNotFound also a FileNotFoundError. The message
  // is the CLI's one line.
  static py::exception<UserError> error(m, "Error", PyExc_ValueError);
  static py::handle not_found =
      PyErr_NewException("frugal._frugal.FileNotFound",
                         py::make_tuple(error, py::handle(PyExc_FileNotFoundError)).ptr(), nullptr);
  m.attr("FileNotFound") = not_found;
  py::register_exception_translator([](std::exception_ptr p) {
    try {
      if (p) std::rethrow_exception(p);
    } catch (const UserError& e) {
      const std::string what = e.what();
      const bool missing =
          what.ends_with(": no such file") || what.find(" does not exist") != std::string::npos;
      PyErr_SetString(missing ? not_found.ptr() : error.ptr(), e.what());
    } catch (const InternalError& e) {
      PyErr_SetString(PyExc_RuntimeError, e.what());
    }
  });
}

namespace {

// The per-layer table of `frugal info --json` ("layers").
py::list layer_table(const ir::Graph& g) {
  const ops::GraphInfo info = ops::infer_graph(g);
  const ops::GraphCost cost = ops::analyze_cost(g, info);
  static const char* kState[] = {"static", "folded", "dynamic", "unsupported", "unreached"};
  py::list rows;
  for (size_t k = 0; k < g.nodes.size(); ++k) {
    const ir::Node& n = g.nodes[k];
    py::list shapes;
    for (const auto& o : n.outputs) {
      auto it = info.values.find(o);
      if (!o.empty() && it != info.values.end() && it->second.shape)
        shapes.append(py::tuple(py::cast(*it->second.shape)));
    }
    const ops::NodeCost& c = cost.nodes[k];
    py::dict row;
    row["name"] = n.name;
    row["op"] = n.op_type;
    row["state"] = kState[static_cast<int>(info.nodes[k].state)];
    row["output_shapes"] = shapes;
    row["params"] = c.params;
    row["macs"] = c.macs;
    row["flops"] = c.flops;
    row["bytes_read"] = c.bytes_read;
    row["bytes_written"] = c.bytes_written;
    rows.append(row);
  }
  return rows;
}

py::list ports(const std::vector<ir::ValueInfo>& values) {
  py::list l;
  for (const auto& v : values) {
    py::dict d;
    d["name"] = v.name;
    d["dtype"] = std::string(dtype_name(v.dtype));
    l.append(d);
  }
  return l;
}

}  // namespace

void bind_model(py::module_& m) {
  py::class_<Model>(m, "Model",
                    "An ONNX model in frugal's IR (immutable: transforms return new ones).")
      .def_static(
          "load",
          [](const std::string& path) {
            auto g = std::make_shared<ir::Graph>(ir::load_onnx(path));
            return Model{g, path, path};
          },
          py::arg("path"), "Load an ONNX file.")
      .def_static(
          "_load_detached",
          [](const std::string& path, const std::string& origin) {
            // The graph only: the file may go (from_torch's temporary export).
            return Model{std::make_shared<ir::Graph>(ir::load_onnx(path)), origin, ""};
          },
          py::arg("path"), py::arg("origin"))
      .def(
          "save",
          [](Model& self, const std::string& path) {
            ir::save_onnx(*self.graph, path);
            self.path = std::filesystem::absolute(path).string();
          },
          py::arg("path"), "Write the model as ONNX.")
      .def(
          "info", [](const Model& self) { return layer_table(*self.graph); },
          "Per-layer table (as `frugal info --json`'s layers): name, op, state, output_shapes, "
          "params, macs, flops, bytes_read, bytes_written.")
      .def_property_readonly("origin", [](const Model& self) { return self.origin; })
      .def_property_readonly("digest", &model_digest, "SHA-256 of the ONNX bytes")
      .def_property_readonly("inputs", [](const Model& self) { return ports(self.graph->inputs); })
      .def_property_readonly("outputs",
                             [](const Model& self) { return ports(self.graph->outputs); })
      .def("__repr__", [](const Model& self) {
        return "<frugal.Model " + self.origin + ": " + std::to_string(self.graph->nodes.size()) +
               " nodes>";
      });
  m.def(
      "zoo",
      [](const std::string& name, uint64_t seed) {
        auto g = std::make_shared<ir::Graph>(zoo::build(name, seed));
        return Model{g, name, ""};
      },
      py::arg("name"), py::arg("seed") = 0,
      "A built-in model (as `frugal zoo NAME`), weights seeded.");
  m.def("zoo_names", &zoo::names, "Names accepted by zoo().");
  m.def(
      "thread_environment",
      [] {
        std::vector<std::tuple<std::string, std::string, std::vector<std::string>>> out;
        for (const auto& e : kernels::thread_environment())
          out.emplace_back(e.name, e.value, e.user_choices);
        return out;
      },
      "The thread runtimes' environment defaults (name, value, user_choices) that the "
      "frugal CLI applies; the package sets them before it loads this module.");
}

}  // namespace frugal::python

PYBIND11_MODULE(_frugal, m) {
  namespace fp = frugal::python;
  m.doc() = "frugal's C++ library (use the `frugal` package, not this module)";
  fp::bind_errors(m);
  fp::bind_model(m);
  fp::bind_session(m);
  fp::bind_workflows(m);
  fp::bind_formats(m);
  fp::bind_explore(m);
}
