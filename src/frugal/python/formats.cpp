// frugal.formats: numeric/'s number formats over numpy arrays (the emulator's own kernels,
// so the values are bit-exact with what the emu backend computes).
#include <pybind11/stl.h>

#include <cmath>

#include "frugal/core/error.h"
#include "frugal/numeric/cost_model.h"
#include "frugal/numeric/format.h"
#include "frugal/numeric/quantize.h"
#include "frugal/numeric/rounding.h"
#include "frugal/python/arrays.h"
#include "frugal/python/bindings.h"

namespace frugal::python {
namespace {

namespace fn = frugal::numeric;

// "nearest" and "stochastic" as well as the library's names (rne, rna, rz, up, down, sr).
fn::Rounding rounding_of(const std::string& name, uint64_t seed) {
  std::string base = name;
  if (base == "nearest" || base == "nearest-even") base = "rne";
  if (base == "stochastic") base = "sr";
  fn::Rounding r = fn::parse_rounding(base);
  if (r.mode == fn::RoundingMode::kStochastic && seed != 0) r.seed = seed;
  return r;
}

py::array round_array(const py::array& array, const std::string& format,
                      const std::string& rounding, uint64_t seed) {
  const fn::NumberFormat f = fn::parse_format(format);
  if (f.kind == fn::FormatKind::kInt && f.channel_axis >= 0)
    throw UserError("format '" + format +
                    "': per-channel formats need a tensor layout; round "
                    "per tensor here");
  const fn::Rounding r = rounding_of(rounding, seed);
  const Tensor in = to_tensor(array, "round");
  if (in.dtype() != DType::kF32)
    throw py::type_error("round: expected a float32 array, got " +
                         describe(in.dtype(), in.shape()) + " (use array.astype(numpy.float32))");
  Tensor out(DType::kF32, in.shape());
  {
    py::gil_scoped_release nogil;
    fn::quantize(std::span<const float>(in.data<float>(), static_cast<size_t>(in.numel())),
                 std::span<float>(out.data<float>(), static_cast<size_t>(out.numel())), f, r);
  }
  return to_numpy(out);
}

py::object number(double v) {
  if (std::isnan(v)) return py::none();
  return py::float_(v);
}

py::dict info(const std::string& name) {
  const fn::NumberFormat f = fn::parse_format(name);
  const fn::FormatInfo i = fn::describe(f);
  py::dict d;
  d["name"] = i.name;
  d["layout"] = i.layout;
  d["bits"] = i.bits;
  d["bits_per_value"] = i.bits_per_value;
  d["max"] = number(i.max_finite);
  d["min"] = number(i.min_finite);
  d["min_normal"] = number(i.min_normal);
  d["min_subnormal"] = number(i.min_subnormal);
  d["epsilon"] = number(i.epsilon);
  d["finite_values"] = i.finite_values;
  d["has_inf"] = i.has_inf;
  d["has_nan"] = i.has_nan;
  try {
    const fn::OpCost mac = fn::mac_cost(f);
    d["mac_energy_pj"] = mac.energy_pj;  // an estimate: numeric/cost_model.h
    d["mac_relative_area"] = mac.relative_area;
  } catch (const UserError&) {
    d["mac_energy_pj"] = py::none();
    d["mac_relative_area"] = py::none();
  }
  return d;
}

py::array values(const std::string& name) {
  const std::vector<double> v = fn::finite_values(fn::parse_format(name));
  py::array_t<double> a(static_cast<py::ssize_t>(v.size()));
  std::copy(v.begin(), v.end(), a.mutable_data());
  return a;
}

}  // namespace

void bind_formats(py::module_& m) {
  py::module_ f = m.def_submodule("formats", "Number formats (numeric/)");
  f.def("round", &round_array, py::arg("array"), py::arg("format"), py::arg("rounding") = "nearest",
        py::arg("seed") = 0);
  f.def("info", &info, py::arg("format"));
  f.def("values", &values, py::arg("format"));
  f.def("presets", [] {
    std::vector<std::string> names;
    for (const auto& p : fn::format_presets()) names.push_back(p.name);
    return names;
  });
}

}  // namespace frugal::python
