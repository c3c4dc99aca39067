#include "frugal/measure/sensor_window.h"
#include "frugal/core/atomic_file.h"

#include <algorithm>
#include <charconv>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "frugal/core/error.h"

namespace frugal::measure {

WindowEnergy integrate_window(const std::vector<SensorSample>& samples, uint64_t t0, uint64_t t1,
                              int epoch, double max_gap_s) {
  WindowEnergy w;
  w.duration_s = t1 > t0 ? static_cast<double>(t1 - t0) * 1e-6 : 0;
  std::map<int, std::vector<std::pair<double, double>>> by_channel;  // t_us, watts
  for (const auto& s : samples)
    if (s.epoch == epoch) by_channel[s.channel].emplace_back(double(s.t_us), s.volts * s.amps);
  const double lo = double(t0), hi = double(t1), max_gap_us = max_gap_s * 1e6;
  for (auto& [ch, pts] : by_channel) {
    std::sort(pts.begin(), pts.end());
    double j = 0;
    for (size_t i = 0; i < pts.size(); ++i) {
      if (pts[i].first >= lo && pts[i].first <= hi) ++w.samples;
      if (i == 0) continue;
      const auto [ta, pa] = pts[i - 1];
      const auto [tb, pb] = pts[i];
      if (tb <= ta || tb - ta > max_gap_us) continue;
      const double a = std::max(ta, lo), b = std::min(tb, hi);
      if (b <= a) continue;
      auto at = [&](double t) { return pa + (pb - pa) * (t - ta) / (tb - ta); };
      j += 0.5 * (at(a) + at(b)) * (b - a) * 1e-6;
    }
    w.joules_by_channel[ch] = j;
    w.joules += j;
  }
  return w;
}

void Calibration::apply(SensorSample& s) const {
  if (channels.empty()) return;
  const auto it = channels.find(s.channel);
  if (it == channels.end()) {
    std::string have;
    for (const auto& [ch, c] : channels) have += (have.empty() ? "" : ",") + std::to_string(ch);
    throw UserError("calibration " + path + " covers channel(s) " + have +
                    " but the sensor streams channel " + std::to_string(s.channel) +
                    ": calibrate it (frugal power calibrate --channel " +
                    std::to_string(s.channel) + ")");
  }
  s.amps = (s.amps - it->second.amps_offset) * it->second.amps_gain;
  s.volts *= it->second.volts_gain;
}

Calibration load_calibration(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw UserError("calibration " + path + ": cannot read the file");
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(in);
  } catch (const std::exception& e) {
    throw UserError("calibration " + path + ": not JSON (" + e.what() + ")");
  }
  Calibration c;
  c.path = path;
  if (!j.is_object() || !j.contains("channels") || !j["channels"].is_object())
    throw UserError("calibration " + path + ": expected {\"channels\": {\"0\": {...}}}");
  for (const auto& [key, v] : j["channels"].items()) {
    int ch = -1;
    auto [p, ec] = std::from_chars(key.data(), key.data() + key.size(), ch);
    if (ec != std::errc() || p != key.data() + key.size() || ch < 0 || ch > 255 || !v.is_object())
      throw UserError("calibration " + path + ": channel '" + key + "' is not 0..255");
    ChannelCalibration cc;
    cc.amps_offset = v.value("amps_offset", 0.0);
    cc.amps_gain = v.value("amps_gain", 1.0);
    cc.volts_gain = v.value("volts_gain", 1.0);
    c.channels[ch] = cc;
  }
  return c;
}

void save_calibration(const Calibration& c, const std::string& path) {
  nlohmann::json j;
  j["channels"] = nlohmann::json::object();
  for (const auto& [ch, cc] : c.channels)
    j["channels"][std::to_string(ch)] = {{"amps_offset", cc.amps_offset},
                                         {"amps_gain", cc.amps_gain},
                                         {"volts_gain", cc.volts_gain}};
  try {
    write_file_atomically(path, j.dump(2) + "\n");
  } catch (const UserError& e) {
    throw UserError(std::string("calibration ") + e.what());
  }
}

std::map<int, std::string> parse_power_map(const std::string& spec) {
  std::map<int, std::string> m;
  std::stringstream ss(spec);
  std::string item;
  while (std::getline(ss, item, ',')) {
    const auto eq = item.find('=');
    int ch = -1;
    const char* end = item.data() + (eq == std::string::npos ? item.size() : eq);
    auto [p, ec] = std::from_chars(item.data(), end, ch);
    if (eq == std::string::npos || ec != std::errc() || p != end || ch < 0 || ch > 255 ||
        eq + 1 == item.size())
      throw UserError("--power-map " + spec + ": expected CHANNEL=DEVICE items, e.g. 0=gpu0,1=tpu");
    m[ch] = item.substr(eq + 1);
  }
  return m;
}

std::string rail_name(const std::map<int, std::string>& map, int channel) {
  const auto it = map.find(channel);
  return it != map.end() ? it->second : "ch" + std::to_string(channel);
}

}  // namespace frugal::measure
