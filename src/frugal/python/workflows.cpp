// frugal.bench, frugal.eval, frugal.compress: the library's workflows, Records as the CLI's
// --json (returned as JSON text; the package parses it).
#include <pybind11/stl.h>

#include "frugal/core/error.h"
#include "frugal/measure/train_run.h"
#include "frugal/measure/workflows.h"
#include "frugal/python/arrays.h"
#include "frugal/python/bindings.h"

namespace frugal::python {
namespace {

// frugal.bench's keywords: `frugal bench`'s options with Python's default duration (1 s).
struct BenchKw : measure::BenchSettings {
  BenchKw() { duration_s = 1.0; }
};

std::string bench(const Model& model, const measure::EngineOptions& engine, const BenchKw& k,
                  const std::vector<py::array>& given) {
  measure::BenchRun run({model.graph, model.origin, model_digest(model)}, engine, k);
  const std::vector<Tensor> inputs =
      measure::make_inputs(run.session(), given.size(), "inputs",
                           [&](size_t i, const auto& port) { return to_tensor(given[i], port); });
  measure::SessionBenchResult sr;
  {
    py::gil_scoped_release nogil;
    sr = run.run(inputs);
  }
  return run.record(sr).dump();
}

std::string eval(const Model& model, const measure::EngineOptions& engine, const std::string& data,
                 int64_t limit, const std::string& datasets_root) {
  measure::EvalSettings s;
  s.data = data;
  s.data_options.datasets_root = datasets_root;
  s.limit = limit;
  py::gil_scoped_release nogil;
  return measure::run_eval({model.graph, model.origin, model_digest(model)}, engine, s)
      .record.dump();
}

struct CompressKw {
  std::string prune, exclude, cluster, quant;
  double max_drop = -1;
  std::string lowrank, binarize;
  std::string data, calib_data, calibration;
  int64_t limit = 0;
  std::string datasets_root = "/usr/share/datasets";
};

std::pair<Model, std::string> compress(const Model& model, const measure::EngineOptions& engine,
                                       const CompressKw& k) {
  const compress::PipelineSpec spec{k.prune,    k.exclude,       k.cluster, k.quant,
                                    k.max_drop, !k.data.empty(), k.lowrank, k.binarize};
  const compress::Pipeline pipeline = compress::make_pipeline(spec);
  compress::PipelineContext ctx =
      measure::compress_context(*model.graph, model.origin, engine, !k.quant.empty(),
                                {k.data, k.calib_data, k.calibration, k.limit, k.datasets_root});
  compress::PipelineState st;
  {
    py::gil_scoped_release nogil;
    st = compress::run_pipeline(*model.graph, pipeline, ctx);
  }
  nlohmann::json report = compress::to_json(st, ctx);
  report["model"] = model.origin;
  std::string origin = model.origin;
  for (const auto& t : st.applied) origin += " | " + t;
  return {Model{std::make_shared<ir::Graph>(std::move(st.graph)), origin, ""}, report.dump()};
}

// frugal.train's keywords: `frugal train`'s options (no checkpoint unless asked).
struct TrainKw {
  train::TrainConfig config;
  measure::TrainNames names;
  TrainKw() { config.checkpoint.clear(); }
};

// Trains a copy of the model; returns the trained model (inference form) and the run as
// `frugal train --json` prints it (the epochs: loss, accuracy, lr, seconds).
std::pair<Model, std::string> train_model(const Model& model, const TrainKw& k) {
  const train::TrainConfig c = measure::train_config(k.config, k.names);
  nlohmann::json epochs = nlohmann::json::array();
  py::gil_scoped_release nogil;
  train::Trainer trainer(*model.graph, c);
  trainer.run([&](const train::EpochStats& s) { epochs.push_back(measure::epoch_json(s)); });
  const nlohmann::json summary = measure::train_summary(trainer, c, model.origin, epochs);
  return {Model{std::make_shared<ir::Graph>(trainer.model()), model.origin + " | train", ""},
          summary.dump()};
}

// A TrainOptions attribute that reads and writes one field of the config or the names.
template <typename T>
void config_field(py::class_<TrainKw>& c, const char* name, T train::TrainConfig::*member) {
  c.def_property(
      name, [member](const TrainKw& k) { return k.config.*member; },
      [member](TrainKw& k, const T& v) { k.config.*member = v; });
}
template <typename T>
void names_field(py::class_<TrainKw>& c, const char* name, T measure::TrainNames::*member) {
  c.def_property(
      name, [member](const TrainKw& k) { return k.names.*member; },
      [member](TrainKw& k, const T& v) { k.names.*member = v; });
}

}  // namespace

void bind_workflows(py::module_& m) {
  py::class_<BenchKw>(m, "BenchOptions")
      .def(py::init<>())
      .def_readwrite("scenario", &BenchKw::scenario)
      .def_readwrite("duration", &BenchKw::duration_s)
      .def_readwrite("min_queries", &BenchKw::min_queries)
      .def_readwrite("max_duration", &BenchKw::max_duration_s)
      .def_readwrite("warmup", &BenchKw::warmup_s)
      .def_readwrite("qps", &BenchKw::qps)
      .def_readwrite("latency_bound_ms", &BenchKw::latency_bound_ms)
      .def_readwrite("find_qps", &BenchKw::find_qps)
      .def_readwrite("power", &BenchKw::power)
      .def_readwrite("idle_seconds", &BenchKw::idle_s);
  py::class_<CompressKw>(m, "CompressOptions")
      .def(py::init<>())
      .def_readwrite("prune", &CompressKw::prune)
      .def_readwrite("exclude", &CompressKw::exclude)
      .def_readwrite("cluster", &CompressKw::cluster)
      .def_readwrite("lowrank", &CompressKw::lowrank)
      .def_readwrite("binarize", &CompressKw::binarize)
      .def_readwrite("quant", &CompressKw::quant)
      .def_readwrite("max_drop", &CompressKw::max_drop)
      .def_readwrite("data", &CompressKw::data)
      .def_readwrite("calib_data", &CompressKw::calib_data)
      .def_readwrite("calibration", &CompressKw::calibration)
      .def_readwrite("limit", &CompressKw::limit)
      .def_readwrite("datasets_root", &CompressKw::datasets_root);
  m.def("bench", &bench, py::arg("model"), py::arg("engine"), py::arg("options"),
        py::arg("inputs"));
  m.def("eval", &eval, py::arg("model"), py::arg("engine"), py::arg("data"), py::arg("limit"),
        py::arg("datasets_root"));
  py::class_<TrainKw> train_options(m, "TrainOptions");
  train_options.def(py::init<>());
  config_field(train_options, "data", &train::TrainConfig::data);
  config_field(train_options, "test_data", &train::TrainConfig::test_data);
  config_field(train_options, "epochs", &train::TrainConfig::epochs);
  config_field(train_options, "batch", &train::TrainConfig::batch);
  config_field(train_options, "schedule", &train::TrainConfig::lr_schedule);
  config_field(train_options, "seed", &train::TrainConfig::seed);
  config_field(train_options, "val_split", &train::TrainConfig::val_split);
  config_field(train_options, "threads", &train::TrainConfig::threads);
  config_field(train_options, "limit", &train::TrainConfig::limit);
  config_field(train_options, "format", &train::TrainConfig::format);
  config_field(train_options, "rounding", &train::TrainConfig::rounding);
  config_field(train_options, "precision_schedule", &train::TrainConfig::precision_schedule);
  config_field(train_options, "loss_scale", &train::TrainConfig::loss_scale);
  config_field(train_options, "checkpoint", &train::TrainConfig::checkpoint);
  config_field(train_options, "resume", &train::TrainConfig::resume);
  config_field(train_options, "datasets_root", &train::TrainConfig::datasets_root);
  config_field(train_options, "prune", &train::TrainConfig::prune);
  config_field(train_options, "qat", &train::TrainConfig::qat);
  names_field(train_options, "optimizer", &measure::TrainNames::optimizer);
  names_field(train_options, "augment", &measure::TrainNames::augment);
  names_field(train_options, "kernels", &measure::TrainNames::kernels);
  train_options
      .def_property(
          "lr", [](const TrainKw& k) { return k.config.lr; },
          [](TrainKw& k, float v) {
            k.config.lr = v;
            k.names.lr_given = true;
          })
      .def_property(
          "momentum", [](const TrainKw& k) { return k.config.optimizer.momentum; },
          [](TrainKw& k, float v) { k.config.optimizer.momentum = v; })
      .def_property(
          "weight_decay", [](const TrainKw& k) { return k.config.optimizer.weight_decay; },
          [](TrainKw& k, float v) { k.config.optimizer.weight_decay = v; });
  m.def("train", &train_model, py::arg("model"), py::arg("options"));
  m.def("compress", &compress, py::arg("model"), py::arg("engine"), py::arg("options"));
}

}  // namespace frugal::python
