#include "frugal/measure/power_select.h"

#include "frugal/runtime/session.h"

#include <charconv>

#include "frugal/core/error.h"
#include "frugal/measure/powersensor3.h"

namespace frugal::measure {
namespace {

const char* kSpecForms =
    "auto, rapl, nvml[:GPU], serial:PATH[@BAUD], powersensor3:PATH, model or none";

template <typename T>
bool parse_whole(const std::string& s, T& v) {
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  return !s.empty() && ec == std::errc() && p == s.data() + s.size();
}

}  // namespace

PowerSpec parse_power_spec(const std::string& spec) {
  PowerSpec p;
  auto bad = [&](const std::string& why) {
    return UserError("--power " + spec + ": " + why + " (expected " + kSpecForms + ")");
  };
  if (spec == "auto") {
    p.kind = PowerSpec::Kind::kAuto;
  } else if (spec == "rapl") {
    p.kind = PowerSpec::Kind::kRapl;
  } else if (spec == "model") {
    p.kind = PowerSpec::Kind::kModel;
  } else if (spec == "none") {
    p.kind = PowerSpec::Kind::kNone;
  } else if (spec == "nvml" || spec.rfind("nvml:", 0) == 0) {
    p.kind = PowerSpec::Kind::kNvml;
    if (spec.size() > 5 && !parse_whole(spec.substr(5), p.gpu))
      throw bad("GPU index is not a number");
    if (spec.size() == 5) throw bad("GPU index missing after nvml:");
  } else if (spec.rfind("serial:", 0) == 0) {
    p.kind = PowerSpec::Kind::kSerial;
    std::string rest = spec.substr(7);
    const auto at = rest.rfind('@');
    if (at != std::string::npos) {
      if (!parse_whole(rest.substr(at + 1), p.baud) || p.baud <= 0)
        throw bad("baud is not a positive number");
      rest = rest.substr(0, at);
    }
    if (rest.empty()) throw bad("serial device path missing");
    p.path = rest;
  } else if (spec.rfind("powersensor3:", 0) == 0) {
    p.kind = PowerSpec::Kind::kPowerSensor3;
    p.path = spec.substr(13);
    if (p.path.empty()) throw bad("PowerSensor3 device path missing");
  } else {
    throw bad("unknown power source");
  }
  return p;
}

PowerChoice select_power_meter_auto(const PowerConfig& config) {
  PowerChoice c;
  std::string why;
  auto try_rapl = [&] {
    try {
      c.meter = std::make_unique<RaplMeter>(config.rapl);
      c.explanation =
          "auto: using rapl (" + config.rapl.root + ")" + (why.empty() ? "" : " because " + why);
    } catch (const UserError& e) {
      why += (why.empty() ? "" : "; ") + std::string(e.what());
    }
    return c.meter != nullptr;
  };
  auto try_nvml = [&] {
    try {
      c.meter = std::make_unique<NvmlMeter>(config.nvml);
      c.explanation = "auto: using " + c.meter->source() +
                      (config.prefer_nvml ? " (the run is on a GPU)" : " because " + why);
    } catch (const UserError& e) {
      why += (why.empty() ? "" : "; ") + std::string(e.what());
    }
    return c.meter != nullptr;
  };
  if (config.prefer_nvml ? try_nvml() || try_rapl() : try_rapl() || try_nvml()) return c;
  c.meter = std::make_unique<ModelMeter>(config.model);
  c.explanation = "auto: falling back to model (estimated) because " + why;
  return c;
}

bool session_uses_gpu(const runtime::Session& session) {
  for (const auto& a : session.arenas())
    if (a.device && a.device->kind() == DeviceKind::kCuda) return true;
  return false;
}

PowerChoice make_power_meter(const PowerSpec& spec, const PowerConfig& config) {
  PowerChoice c;
  switch (spec.kind) {
    case PowerSpec::Kind::kAuto:
      return select_power_meter_auto(config);
    case PowerSpec::Kind::kRapl:
      c.meter = std::make_unique<RaplMeter>(config.rapl);
      break;
    case PowerSpec::Kind::kNvml: {
      NvmlOptions o = config.nvml;
      o.device = spec.gpu;
      c.meter = std::make_unique<NvmlMeter>(o);
      break;
    }
    case PowerSpec::Kind::kSerial:
    case PowerSpec::Kind::kPowerSensor3: {
      SerialOptions o = config.serial;
      o.path = spec.path;
      o.baud = spec.baud;
      if (spec.kind == PowerSpec::Kind::kSerial)
        c.meter = std::make_unique<SerialMeter>(o);
      else
        c.meter = std::make_unique<SerialMeter>(o, std::make_unique<PowerSensor3Protocol>());
      break;
    }
    case PowerSpec::Kind::kModel:
      c.meter = std::make_unique<ModelMeter>(config.model);
      break;
    case PowerSpec::Kind::kNone:
      c.explanation = "power: not measured";
      return c;
  }
  c.explanation = "power: " + c.meter->source() + " (" + energy_kind_name(c.meter->kind()) + ")";
  return c;
}

}  // namespace frugal::measure
