#include "frugal/measure/model_meter.h"

#include <cstdio>

#include "frugal/core/error.h"
#include "frugal/measure/clock.h"
#include "frugal/numeric/cost_model.h"
#include "frugal/numeric/format.h"

namespace frugal::measure {

EnergyCoefficients horowitz_45nm_coefficients() {
  EnergyCoefficients c;
  // Per-MAC energies from the numeric layer's cost model, which reproduces Horowitz's
  // 45 nm figures exactly (fp32 3.7 + 0.9 pJ, int8 multiply 0.2 + int32 add 0.1 pJ) and
  // interpolates other widths by significand (docs/cost-model.md). Formats not listed here
  // are priced on demand by record_work.
  for (const char* name : {"fp32", "fp16", "bf16", "e4m3", "e5m2", "int8"})
    c.pj_per_mac[name] = numeric::mac_cost(numeric::parse_format(name)).energy_pj;
  // int32 is no storage format of the numeric layer (integers stop at 16 bits): its MAC is
  // a 32-bit integer multiply and add (3.1 + 0.1 pJ).
  c.pj_per_mac["int32"] = numeric::int_mul_cost(32).energy_pj + numeric::int_add_cost(32).energy_pj;
  c.pj_per_byte = numeric::dram_access_pj() / 8.0;  // one 64-bit DRAM access, per byte
  c.static_watts = 0;
  c.reference = "Horowitz, ISSCC 2014, 45 nm operation energies (arithmetic and DRAM only)";
  return c;
}

ModelMeter::ModelMeter(EnergyCoefficients coefficients) : coefficients_(std::move(coefficients)) {}

void ModelMeter::start() {
  work_ = WorkDone{};
  start_s_ = now_seconds();
  running_ = true;
}

void ModelMeter::record_work(const WorkDone& work) {
  for (const auto& [format, macs] : work.macs_by_format) {
    if (!coefficients_.pj_per_mac.count(format)) {
      // Any format the numeric layer can parse gets its cost-model figure.
      try {
        coefficients_.pj_per_mac[format] =
            numeric::mac_cost(numeric::parse_format(format)).energy_pj;
      } catch (const UserError& e) {
        throw UserError("model energy: no energy per MAC for format " + format + " (" +
                        e.what() + ")");
      }
    }
    work_.macs_by_format[format] += macs;
  }
  work_.bytes_moved += work.bytes_moved;
}

double ModelMeter::estimate_joules(const WorkDone& work, double duration_s) const {
  double pj = work.bytes_moved * coefficients_.pj_per_byte;
  for (const auto& [format, macs] : work.macs_by_format) {
    auto it = coefficients_.pj_per_mac.find(format);
    if (it == coefficients_.pj_per_mac.end())
      throw UserError("model energy: no energy per MAC for format " + format);
    pj += macs * it->second;
  }
  return pj * 1e-12 + coefficients_.static_watts * duration_s;
}

Reading ModelMeter::stop() {
  if (!running_) throw InternalError("ModelMeter::stop: not started");
  running_ = false;
  Reading r;
  r.source = source();
  r.kind = EnergyKind::kEstimated;
  r.duration_s = now_seconds() - start_s_;
  r.joules = estimate_joules(work_, r.duration_s);
  r.mean_watts = r.duration_s > 0 ? r.joules / r.duration_s : 0;
  double macs = 0;
  for (const auto& [format, n] : work_.macs_by_format) macs += n;
  char buf[160];
  std::snprintf(buf, sizeof(buf), "estimated from %.4g MACs and %.4g bytes moved; ", macs,
                work_.bytes_moved);
  r.note = buf + coefficients_.reference;
  return r;
}

}  // namespace frugal::measure
