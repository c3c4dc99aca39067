#include "frugal/measure/power.h"

#include "frugal/core/error.h"
#include "frugal/measure/clock.h"

namespace frugal::measure {

const char* energy_kind_name(EnergyKind kind) {
  return kind == EnergyKind::kMeasured ? "measured" : "estimated";
}

nlohmann::json to_json(const Reading& r) {
  return nlohmann::json{{"joules", r.joules},
                        {"mean_watts", r.mean_watts},
                        {"samples", r.samples},
                        {"period_s", r.period_s},
                        {"duration_s", r.duration_s},
                        {"source", r.source},
                        {"kind", energy_kind_name(r.kind)},
                        {"note", r.note},
                        {"joules_by_rail", r.joules_by_rail}};
}

Reading measure_idle(PowerMeter& meter, double seconds) {
  if (!(seconds > 0))
    throw UserError("idle power: duration " + std::to_string(seconds) + " s must be positive");
  meter.start();
  sleep_seconds(seconds);
  meter.record_work(WorkDone{});
  return meter.stop();
}

EnergySplit split_active_energy(const Reading& run, const Reading& idle) {
  if (run.source != idle.source)
    throw UserError("active energy: idle reading from " + idle.source +
                    " cannot be subtracted from a run measured by " + run.source);
  if (!(idle.duration_s > 0))
    throw UserError("active energy: the idle reading from " + idle.source + " covers no time");
  EnergySplit s;
  s.total_j = run.joules;
  s.duration_s = run.duration_s;
  s.idle_watts = idle.joules / idle.duration_s;
  s.idle_j = s.idle_watts * run.duration_s;
  s.active_j = s.total_j - s.idle_j;
  return s;
}

nlohmann::json to_json(const EnergySplit& s) {
  return nlohmann::json{{"total_j", s.total_j},
                        {"idle_watts", s.idle_watts},
                        {"idle_j", s.idle_j},
                        {"active_j", s.active_j},
                        {"duration_s", s.duration_s}};
}

}  // namespace frugal::measure
