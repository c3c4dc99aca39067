// frugal power calibrate|monitor|record SOURCE: the power testbed's sensor tools
// (docs/power.md, "Testbed"). SOURCE is serial:PATH[@BAUD] (frugal's firmware) or
// powersensor3:PATH. The workflows are in measure/power_tools.h; this file parses and prints.
#include <unistd.h>

#include <cstdio>
#include <memory>
#include <optional>
#include <string>

#include "frugal/cli/command.h"
#include "frugal/core/error.h"
#include "frugal/measure/power_tools.h"

namespace frugal::cli {
namespace {

namespace fm = frugal::measure;

struct PowerArgs {
  std::string source;
  int channel = 0;
  bool zero = false;
  std::optional<double> known_load;
  double seconds = 2;
  double duration = 10;
  double timeout = 3;
  std::string calibration_file = "power-calibration.json";
  std::string calibration;  // applied by monitor/record
  std::string map;
  std::string output;
  bool markers = false;
};

fm::SerialOptions sensor_options(const PowerArgs& a) {
  fm::SerialOptions o;
  if (!a.map.empty()) o.rails = fm::parse_power_map(a.map);
  if (!a.calibration.empty()) o.calibration = fm::load_calibration(a.calibration);
  return o;
}

void calibrate(const PowerArgs& a) {
  if (a.zero == a.known_load.has_value())
    throw UserError("power calibrate: give exactly one of --zero and --known-load W");
  if (a.channel < 0 || a.channel > 255)
    throw UserError("--channel " + std::to_string(a.channel) + ": must be 0..255");
  fm::Calibration cal;
  if (::access(a.calibration_file.c_str(), F_OK) == 0)
    cal = fm::load_calibration(a.calibration_file);
  fm::CalibrateOptions o;
  o.channel = a.channel;
  o.seconds = a.seconds;
  o.known_load_watts = a.known_load;
  o.data_timeout_s = a.timeout;
  const fm::CalibrateResult r = fm::calibrate_channel(a.source, o, cal);
  fm::save_calibration(cal, a.calibration_file);
  std::printf("channel %d: %lld samples, mean %.4f V %.4f A %.4f W\n", a.channel,
              static_cast<long long>(r.samples), r.mean_volts, r.mean_amps, r.mean_watts);
  std::printf("stored in %s: amps_offset %.5f A, amps_gain %.5f\n", a.calibration_file.c_str(),
              r.channel.amps_offset, r.channel.amps_gain);
}

void monitor(const PowerArgs& a) {
  auto meter = fm::open_sensor(a.source, sensor_options(a));
  const bool tty = isatty(STDOUT_FILENO);
  fm::monitor_sensor(*meter, a.duration, 0.5, a.timeout, sensor_options(a).rails,
                     [&](const std::map<std::string, double>& watts) {
                       double total = 0;
                       std::string line;
                       char buf[64];
                       for (const auto& [rail, w] : watts) {
                         std::snprintf(buf, sizeof buf, "%s %8.3f W  ", rail.c_str(), w);
                         line += buf;
                         total += w;
                       }
                       std::snprintf(buf, sizeof buf, "total %8.3f W", total);
                       // One line that updates in a terminal; one line per reading in a pipe.
                       std::printf(tty ? "\r%s%s\x1b[K" : "%s%s\n", line.c_str(), buf);
                       std::fflush(stdout);
                       return true;
                     });
  if (tty) std::printf("\n");
}

void record(const PowerArgs& a) {
  if (a.output.empty()) throw UserError("power record: -o trace.csv is required");
  fm::SerialOptions o = sensor_options(a);
  o.markers = a.markers;
  auto meter = fm::open_sensor(a.source, o);
  fm::RecordTraceOptions ro;
  ro.seconds = a.duration;
  ro.data_timeout_s = a.timeout;
  ro.rails = o.rails;
  const fm::TraceSummary t = fm::record_trace(*meter, ro, a.output);
  std::printf("%s: %lld samples, %lld markers, %.4f J over %.3f s (%.3f W mean)\n",
              a.output.c_str(), static_cast<long long>(t.samples),
              static_cast<long long>(t.markers), t.reading.joules, t.reading.duration_s,
              t.reading.mean_watts);
  for (const auto& [rail, j] : t.reading.joules_by_rail)
    std::printf("  %s %.4f J\n", rail.c_str(), j);
}

void add_common(CLI::App* sub, PowerArgs* a) {
  sub->add_option("source", a->source, "serial:PATH[@BAUD] or powersensor3:PATH")->required();
  sub->add_option("--timeout", a->timeout, "seconds to wait for the first sample (default 3)");
}

void setup(CLI::App& app) {
  auto a = std::make_shared<PowerArgs>();
  auto* power =
      app.add_subcommand("power", "Power testbed tools: calibrate, monitor, record a sensor");
  power->require_subcommand(1);
  power->footer(
      "Examples:\n"
      "  frugal power calibrate serial:/dev/ttyACM0@1000000 --channel 0 --zero\n"
      "  frugal power calibrate serial:/dev/ttyACM0@1000000 --channel 0 --known-load 24\n"
      "  frugal power monitor powersensor3:/dev/ttyACM0 --power-map 0=gpu,1=host\n"
      "  frugal power record serial:/dev/ttyACM0@1000000 -o trace.csv --duration 30\n"
      "See docs/power.md (Testbed) for wiring and firmware.");

  auto* cal = power->add_subcommand("calibrate",
                                    "Zero offset or gain of one channel into a calibration file");
  add_common(cal, a.get());
  cal->add_option("--channel", a->channel, "sensor channel (default 0)");
  cal->add_flag("--zero", a->zero, "no load connected: store the zero-current offset");
  cal->add_option("--known-load", a->known_load, "a known load of W watts: store the gain");
  cal->add_option("--seconds", a->seconds, "averaging time (default 2)");
  cal->add_option("--file", a->calibration_file,
                  "calibration file to update (default power-calibration.json)");
  cal->callback([a] { calibrate(*a); });

  auto* mon = power->add_subcommand("monitor", "Live watts per rail on one updating line");
  add_common(mon, a.get());
  mon->add_option("--duration", a->duration, "seconds (default 10; 0: until interrupted)");
  mon->add_option("--power-map", a->map, "channel=device list, e.g. 0=gpu,1=host");
  mon->add_option("--calibration", a->calibration, "calibration file to apply");
  mon->callback([a] { monitor(*a); });

  auto* rec = power->add_subcommand("record", "Record a trace (samples and markers) to CSV");
  add_common(rec, a.get());
  rec->add_option("-o,--output", a->output, "trace.csv")->required();
  rec->add_option("--duration", a->duration, "seconds (default 10)");
  rec->add_option("--power-map", a->map, "channel=device list, e.g. 0=gpu,1=host");
  rec->add_option("--calibration", a->calibration, "calibration file to apply");
  rec->add_flag("--markers", a->markers, "bracket the recording with sensor-stamped markers");
  rec->callback([a] { record(*a); });
}

}  // namespace

FRUGAL_REGISTER_COMMAND(power, 95, setup);

}  // namespace frugal::cli
