#include "frugal/measure/model_meter.h"

#include <cstdio>

#include "frugal/core/error.h"
#include "frugal/measure/clock.h"

namespace frugal::measure {

EnergyCoefficients horowitz_45nm_coefficients() {
  EnergyCoefficients c;
  // Multiply + add at 45 nm, 0.9 V (Horowitz 2014, table of operation energies):
  // fp32 3.7 + 0.9 pJ; fp16 1.1 + 0.4 pJ; int32 3.1 + 0.1 pJ; int8 multiply 0.2 pJ with a
  // 32-bit accumulate 0.1 pJ. bf16 and the 8-bit floats are given the fp16 figure (a
  // narrower mantissa multiplier costs less, so this overstates them).
  c.pj_per_mac = {{"fp32", 4.6}, {"fp16", 1.5},  {"bf16", 1.5}, {"e4m3", 1.5},
                  {"e5m2", 1.5}, {"int32", 3.2}, {"int8", 0.3}};
  // DRAM: 1.3-2.6 nJ per 64-bit access; the low end, per byte.
  c.pj_per_byte = 1300.0 / 8.0;
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
    if (!coefficients_.pj_per_mac.count(format))
      throw UserError("model energy: no energy per MAC for format " + format +
                      " in the coefficient table (" + coefficients_.reference + ")");
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
