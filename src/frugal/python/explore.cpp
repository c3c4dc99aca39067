// frugal.sweep and frugal.report: explore/'s runner (child processes of the frugal CLI) and
// the report of a results store.
#include <pybind11/stl.h>

#include "frugal/core/error.h"
#include "frugal/explore/report.h"
#include "frugal/explore/spec.h"
#include "frugal/explore/store.h"
#include "frugal/explore/sweep.h"
#include "frugal/python/bindings.h"

namespace frugal::python {
namespace {

// spec: a YAML file's path, or the spec as YAML/JSON text (the package passes a dict as
// JSON, which YAML reads as it is); base_dir resolves the files it names.
py::dict sweep(const std::string& spec_path, const std::string& spec_text,
               const std::string& base_dir, const std::string& db, int jobs, bool resume,
               const std::string& cache, const std::string& frugal_exe, bool quiet) {
  if (jobs < 1 || jobs > 64) throw UserError("jobs: must be between 1 and 64");
  const explore::SweepSpec spec = spec_path.empty()
                                      ? explore::parse_sweep_spec(spec_text, "spec", base_dir)
                                      : explore::load_sweep_spec(spec_path);
  const std::string db_path = db.empty() ? spec.name + ".sqlite" : db;
  explore::Store store = explore::Store::open(db_path, explore::Store::Mode::read_write);
  explore::SweepOptions o;
  o.frugal_exe = frugal_exe;
  o.cache_dir = cache.empty() ? explore::default_cache_dir() : cache;
  o.jobs = jobs;
  o.resume = resume;
  if (quiet) o.log = nullptr;
  explore::SweepSummary s;
  {
    py::gil_scoped_release nogil;
    s = explore::run_sweep(spec.points, store, o);
  }
  py::dict d;
  d["db"] = db_path;
  d["planned"] = s.planned;
  d["skipped"] = s.skipped;
  d["ok"] = s.ok;
  d["failed"] = s.failed;
  d["wall_s"] = s.wall_s;
  d["keys"] = s.keys_run;
  return d;
}

py::dict report(const std::string& db, const std::string& out, const std::string& csv,
                const std::string& json, const std::string& pareto) {
  explore::Store store = explore::Store::open(db, explore::Store::Mode::read_only);
  const explore::ReportInput in = explore::load_report_input(store);
  if (!out.empty()) explore::write_text_file(out, explore::render_report_html(in, {}));
  if (!csv.empty()) explore::write_text_file(csv, explore::render_report_csv(in));
  if (!json.empty()) explore::write_text_file(json, explore::render_report_json(in));
  size_t failed = 0;
  for (const auto& p : in.points) failed += p.status != "ok";
  const std::string metrics = pareto.empty() ? explore::default_pareto_metrics(in.records) : pareto;
  py::dict d;
  d["points"] = in.points.size();
  d["ok"] = in.points.size() - failed;
  d["failed"] = failed;
  d["pareto"] = explore::render_pareto_text(in.records, metrics);
  d["points_json"] = explore::render_report_json(in);
  return d;
}

}  // namespace

void bind_explore(py::module_& m) {
  m.def("sweep", &sweep, py::arg("spec_path"), py::arg("spec_text"), py::arg("base_dir"),
        py::arg("db"), py::arg("jobs"), py::arg("resume"), py::arg("cache"), py::arg("frugal_exe"),
        py::arg("quiet"));
  m.def("report", &report, py::arg("db"), py::arg("out"), py::arg("csv"), py::arg("json"),
        py::arg("pareto"));
}

}  // namespace frugal::python
