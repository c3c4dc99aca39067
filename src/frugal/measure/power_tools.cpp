#include "frugal/measure/power_tools.h"

#include <cstdio>
#include <fstream>

#include "frugal/core/error.h"
#include "frugal/measure/clock.h"
#include "frugal/measure/power_select.h"
#include "frugal/measure/powersensor3.h"

namespace frugal::measure {

std::unique_ptr<SerialMeter> open_sensor(const std::string& source, SerialOptions base) {
  const PowerSpec spec = parse_power_spec(source);
  base.path = spec.path;
  base.baud = spec.baud;
  if (spec.kind == PowerSpec::Kind::kSerial) return std::make_unique<SerialMeter>(base);
  if (spec.kind == PowerSpec::Kind::kPowerSensor3)
    return std::make_unique<SerialMeter>(base, std::make_unique<PowerSensor3Protocol>());
  throw UserError("power " + source + ": a sensor is serial:PATH[@BAUD] or powersensor3:PATH");
}

namespace {

struct ChannelMeans {
  double amps = 0, volts = 0, watts = 0;
  int64_t n = 0;
};

ChannelMeans means(const std::vector<SensorSample>& samples, int channel) {
  ChannelMeans m;
  for (const auto& s : samples)
    if (s.channel == channel) {
      m.amps += s.amps;
      m.volts += s.volts;
      m.watts += s.volts * s.amps;
      ++m.n;
    }
  if (m.n > 0) {
    m.amps /= double(m.n);
    m.volts /= double(m.n);
    m.watts /= double(m.n);
  }
  return m;
}

}  // namespace

CalibrateResult calibrate_channel(const std::string& source, const CalibrateOptions& o,
                                  Calibration& calibration) {
  if (o.known_load_watts && !(*o.known_load_watts > 0))
    throw UserError("--known-load " + std::to_string(*o.known_load_watts) +
                    ": must be positive watts");
  // Zero reads raw values; a gain is measured on top of the stored zero offset.
  Calibration applied;
  ChannelCalibration cc = calibration.channels.count(o.channel) ? calibration.channels[o.channel]
                                                                : ChannelCalibration{};
  if (o.known_load_watts)
    applied.channels[o.channel] = ChannelCalibration{cc.amps_offset, 1, cc.volts_gain};
  SerialOptions base;
  auto meter = open_sensor(source, base);
  meter->start();
  meter->await_data(o.data_timeout_s);
  sleep_seconds(o.seconds);
  meter->stop();
  std::vector<SensorSample> samples = meter->samples();
  for (auto& s : samples)
    if (s.channel == o.channel && !applied.empty()) applied.apply(s);
  const ChannelMeans m = means(samples, o.channel);
  if (m.n < 2)
    throw UserError("power calibrate: " + source + " streamed no samples of channel " +
                    std::to_string(o.channel));
  CalibrateResult r;
  if (o.known_load_watts) {
    if (!(m.watts > 0))
      throw UserError("power calibrate: channel " + std::to_string(o.channel) + " reads " +
                      std::to_string(m.watts) + " W under the known load: is the load connected?");
    cc.amps_gain = *o.known_load_watts / m.watts;
  } else {
    cc.amps_offset = m.amps;
  }
  calibration.channels[o.channel] = cc;
  r.channel = cc;
  r.mean_amps = m.amps;
  r.mean_volts = m.volts;
  r.mean_watts = m.watts;
  r.samples = m.n;
  return r;
}

TraceSummary record_trace(SerialMeter& meter, const RecordTraceOptions& o,
                          const std::string& csv_path) {
  if (!(o.seconds > 0)) throw UserError("--duration must be positive seconds");
  const std::string tmp = csv_path + ".part";
  std::ofstream out(tmp);
  if (!out) throw UserError("power record: cannot write " + csv_path);
  meter.start();
  TraceSummary t;
  try {
    meter.await_data(o.data_timeout_s);
    sleep_seconds(o.seconds);
    t.reading = meter.stop();
  } catch (...) {
    out.close();
    std::remove(tmp.c_str());
    throw;
  }
  out << "t_us,epoch,kind,channel,rail,volts,amps,watts\n";
  char line[160];
  for (const auto& s : meter.samples()) {
    std::snprintf(line, sizeof line, "%llu,%d,sample,%d,%s,%.6g,%.6g,%.6g\n",
                  static_cast<unsigned long long>(s.t_us), s.epoch, s.channel,
                  rail_name(o.rails, s.channel).c_str(), s.volts, s.amps, s.volts * s.amps);
    out << line;
    ++t.samples;
  }
  for (const auto& m : meter.markers()) {
    out << m.t_us << "," << m.epoch << ",marker," << m.id << ",,,,\n";
    ++t.markers;
  }
  out.close();
  if (!out || std::rename(tmp.c_str(), csv_path.c_str()) != 0) {
    std::remove(tmp.c_str());
    throw UserError("power record: cannot write " + csv_path);
  }
  return t;
}

std::map<std::string, double> recent_watts(const std::vector<SensorSample>& samples,
                                           double window_s,
                                           const std::map<int, std::string>& rails) {
  std::map<std::string, double> out;
  if (samples.empty()) return out;
  uint64_t last = 0;
  int epoch = samples.back().epoch;
  for (const auto& s : samples)
    if (s.epoch == epoch) last = std::max(last, s.t_us);
  const uint64_t window_us = static_cast<uint64_t>(window_s * 1e6);
  const uint64_t from = last > window_us ? last - window_us : 0;
  std::map<int, std::pair<double, int64_t>> sums;
  for (const auto& s : samples)
    if (s.epoch == epoch && s.t_us >= from) {
      sums[s.channel].first += s.volts * s.amps;
      ++sums[s.channel].second;
    }
  for (const auto& [ch, sum] : sums) out[rail_name(rails, ch)] += sum.first / double(sum.second);
  return out;
}

void monitor_sensor(SerialMeter& meter, double seconds, double interval_s, double data_timeout_s,
                    const std::map<int, std::string>& rails,
                    const std::function<bool(const std::map<std::string, double>&)>& show) {
  meter.start();
  auto stop_quietly = [&] {
    try {
      meter.stop();
    } catch (const UserError&) {
      // The samples were taken out as they came: too few may be left for a reading.
    }
  };
  try {
    meter.await_data(data_timeout_s);
    const double end = now_seconds() + seconds;
    while (seconds <= 0 || now_seconds() < end) {
      sleep_seconds(interval_s);
      if (!show(recent_watts(meter.take_samples(), interval_s, rails))) break;
    }
  } catch (...) {
    stop_quietly();
    throw;
  }
  stop_quietly();
}

}  // namespace frugal::measure
