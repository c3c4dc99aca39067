// frugal.Session: a compiled model; run() takes and returns numpy arrays, without the GIL.
#include <pybind11/stl.h>

#include <mutex>

#include "frugal/core/error.h"
#include "frugal/measure/engine.h"
#include "frugal/python/arrays.h"
#include "frugal/python/bindings.h"
#include "frugal/runtime/session.h"

namespace frugal::python {
namespace {

class PySession {
 public:
  PySession(const Model& model, const measure::EngineOptions& args) : model_(model) {
    py::gil_scoped_release nogil;  // compiling (and calibrating) takes a while
    options_ = measure::session_options(args, model.origin, model.graph.get());
    session_ = std::make_unique<runtime::Session>(*model.graph, options_);
  }

  // dict -> dict by output name; an array or a sequence of arrays -> list in output order.
  py::object run(const py::object& feed) {
    const auto& ports = session_->inputs();
    std::vector<Tensor> inputs;
    const bool named = py::isinstance<py::dict>(feed);
    if (named) {
      const py::dict d = feed.cast<py::dict>();
      for (const auto& [key, value] : d) {
        const std::string name = py::str(key);
        bool known = false;
        for (const auto& p : ports) known = known || p.name == name;
        if (!known) throw UserError(model_.origin + ": no input named '" + name + "'" + names());
      }
      for (const auto& p : ports) {
        if (!d.contains(p.name.c_str()))
          throw UserError(model_.origin + ": input '" + p.name + "' not given" + names());
        inputs.push_back(to_tensor(as_array(d[p.name.c_str()], p), p));
      }
    } else {
      std::vector<py::object> items;
      if (py::isinstance<py::list>(feed) || py::isinstance<py::tuple>(feed))
        for (const auto& it : feed) items.push_back(py::reinterpret_borrow<py::object>(it));
      else
        items.push_back(feed);
      if (items.size() != ports.size())
        throw UserError(model_.origin + ": expected " + std::to_string(ports.size()) +
                        " inputs, got " + std::to_string(items.size()) + names());
      for (size_t i = 0; i < ports.size(); ++i)
        inputs.push_back(to_tensor(as_array(items[i], ports[i]), ports[i]));
    }
    std::vector<Tensor> outs;
    {
      py::gil_scoped_release nogil;
      const std::lock_guard lock(mutex_);  // one activation arena per session
      outs = session_->run(inputs);
      inputs.clear();  // drop the views of the caller's arrays (their deleters take the GIL)
    }
    if (named) {
      py::dict result;
      for (size_t i = 0; i < outs.size(); ++i)
        result[session_->outputs()[i].name.c_str()] = to_numpy(outs[i]);
      return result;
    }
    py::list result;
    for (const auto& t : outs) result.append(to_numpy(t));
    return result;
  }

  py::list plan() const {
    py::list rows;
    for (const auto& a : session_->assignments()) {
      py::dict d;
      d["node"] = a.node_name;
      d["op"] = a.op_type;
      d["backend"] = a.backend.empty() ? py::object(py::none()) : py::str(a.backend);
      d["impl"] = a.impl;
      d["declined"] = a.declined;
      rows.append(d);
    }
    return rows;
  }

  py::list ports(const std::vector<runtime::Session::Port>& ps) const {
    py::list l;
    for (const auto& p : ps) {
      py::dict d;
      d["name"] = p.name;
      d["dtype"] = std::string(dtype_name(p.dtype));
      d["shape"] = py::tuple(py::cast(p.shape));
      l.append(d);
    }
    return l;
  }

  runtime::Session& session() { return *session_; }
  const runtime::SessionOptions& options() const { return options_; }

 private:
  // Arrays pass as they are (their dtype is checked, not converted); other objects (lists,
  // scalars) become arrays of the port's dtype.
  static py::array as_array(const py::handle& h, const runtime::Session::Port& port) {
    if (py::isinstance<py::array>(h)) return py::reinterpret_borrow<py::array>(h);
    return py::array::ensure(py::reinterpret_borrow<py::object>(h));
  }

  std::string names() const {
    std::string s;
    for (const auto& p : session_->inputs())
      s += (s.empty() ? " (inputs: " : ", ") + p.name + " " + describe(p.dtype, p.shape);
    return s.empty() ? s : s + ")";
  }

  Model model_;
  runtime::SessionOptions options_;
  std::unique_ptr<runtime::Session> session_;
  std::mutex mutex_;
};

}  // namespace

void bind_session(py::module_& m) {
  py::class_<measure::EngineOptions>(
      m, "EngineOptions", "Engine options, as the CLI's --backend --precision ... flags.")
      .def(py::init<>())
      .def_readwrite("backends", &measure::EngineOptions::backends)
      .def_readwrite("precision", &measure::EngineOptions::precision)
      .def_readwrite("calibration", &measure::EngineOptions::calibration)
      .def_readwrite("format", &measure::EngineOptions::format)
      .def_readwrite("threads", &measure::EngineOptions::threads)
      .def_readwrite("batch", &measure::EngineOptions::batch)
      .def_readwrite("shapes", &measure::EngineOptions::shapes)
      .def_readwrite("no_optimize", &measure::EngineOptions::no_optimize)
      .def_readwrite("sparse", &measure::EngineOptions::sparse)
      .def_readwrite("precision_map", &measure::EngineOptions::precision_map);
  py::class_<PySession>(m, "Session")
      .def(py::init<const Model&, const measure::EngineOptions&>(), py::arg("model"),
           py::arg("engine"))
      .def("run", &PySession::run, py::arg("inputs"))
      .def("plan", &PySession::plan)
      .def_property_readonly(
          "inputs",
          [](const PySession& s) { return s.ports(const_cast<PySession&>(s).session().inputs()); })
      .def_property_readonly(
          "outputs",
          [](const PySession& s) { return s.ports(const_cast<PySession&>(s).session().outputs()); })
      .def_property_readonly("backends", [](const PySession& s) { return s.options().backends; });
}

}  // namespace frugal::python
