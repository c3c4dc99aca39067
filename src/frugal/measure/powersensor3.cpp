#include "frugal/measure/powersensor3.h"

#include <cstring>

#include "frugal/core/error.h"

namespace frugal::measure {
namespace {

constexpr double kConfigTimeoutS = 2.0;

}  // namespace

Ps3SensorConfig decode_ps3_config(std::span<const uint8_t, kPs3ConfigBytes> b) {
  Ps3SensorConfig c;
  auto text = [&](size_t at) {
    const char* p = reinterpret_cast<const char*>(b.data() + at);
    return std::string(p, strnlen(p, 16));
  };
  c.type = text(0);
  c.pair_name = text(16);
  std::memcpy(&c.vref, b.data() + 32, 4);  // little endian on the device and here
  std::memcpy(&c.sensitivity, b.data() + 36, 4);
  c.in_use = b[40] != 0;
  return c;
}

std::array<uint8_t, kPs3ConfigBytes> encode_ps3_config(const Ps3SensorConfig& c) {
  std::array<uint8_t, kPs3ConfigBytes> b{};
  std::memcpy(b.data(), c.type.data(), std::min<size_t>(c.type.size(), 16));
  std::memcpy(b.data() + 16, c.pair_name.data(), std::min<size_t>(c.pair_name.size(), 16));
  std::memcpy(b.data() + 32, &c.vref, 4);
  std::memcpy(b.data() + 36, &c.sensitivity, 4);
  b[40] = c.in_use ? 1 : 0;
  return b;
}

std::array<uint8_t, 2> encode_ps3_level(int sensor, int level, bool marker) {
  return {static_cast<uint8_t>(0x80 | (sensor & 7) << 4 | (level >> 6 & 0xF)),
          static_cast<uint8_t>((marker ? 0x40 : 0) | (level & 0x3F))};
}

std::array<uint8_t, 2> encode_ps3_timestamp(uint32_t t_us) {
  return {static_cast<uint8_t>(0xF0 | (t_us >> 6 & 0xF)),
          static_cast<uint8_t>(0x40 | (t_us & 0x3F))};
}

void PowerSensor3Protocol::open(const SerialLine& line) {
  line.write_all("X");  // a device left streaming by an earlier host stops first
  uint8_t drain[256];
  while (line.read_some(drain, 0.1) > 0) {
  }
  line.discard_input();
  line.write_all("R");
  for (int s = 0; s < kPs3Sensors; ++s) {
    std::array<uint8_t, kPs3ConfigBytes> b{};
    if (!line.read_exact(b, kConfigTimeoutS))
      throw UserError("powersensor3: no PowerSensor3 at " + line.path() + ": sensor " +
                      std::to_string(s) + "'s configuration did not arrive within 2 s of 'R'" +
                      " (expected the PowerSensor3 protocol, USB CDC)");
    config_[s] = decode_ps3_config(b);
    line.write_all("s");
  }
  uint8_t done = 0;
  if (!line.read_exact(std::span<uint8_t>(&done, 1), kConfigTimeoutS) || done != 'D')
    throw UserError("powersensor3: " + line.path() +
                    " did not end its configuration with 'D': not a PowerSensor3 (firmware 1.5)");
  bool any = false;
  for (int p = 0; p < kPs3Sensors / 2; ++p)
    any |= config_[2 * p].in_use && config_[2 * p + 1].in_use;
  if (!any)
    throw UserError("powersensor3: " + line.path() +
                    " has no sensor pair in use: configure it with PowerSensor3's psconfig");
}

void PowerSensor3Protocol::restart(const SerialLine& line) {
  line.write_all("S");
  have_byte_ = false;
  have_time_ = false;
  t_us_ = 0;
  marker_pending_ = false;
  counts_ = StreamCounts{};
}

void PowerSensor3Protocol::close(const SerialLine& line) {
  line.write_all("X");
}

std::string PowerSensor3Protocol::marker_command(int id) {
  marker_ids_.push_back(id);
  return "M";
}

void PowerSensor3Protocol::packet(uint8_t b0, uint8_t b1, std::vector<SensorSample>& samples,
                                  std::vector<SensorMarker>& markers) {
  if (b0 == 0xFF && b1 == 0x3F) return;  // end of stream after 'X'
  const int sensor = b0 >> 4 & 7;
  const int level = (b0 & 0xF) << 6 | (b1 & 0x3F);
  const bool marker = b1 & 0x40;
  if (sensor == 7 && marker) {  // timestamp: 10 bits of microseconds, unwrapped here
    const uint32_t t10 = static_cast<uint32_t>(level);
    t_us_ += have_time_ ? (t10 - last_t10_) & 0x3FF : t10;
    have_time_ = true;
    last_t10_ = t10;
    return;
  }
  const Ps3SensorConfig& c = config_[sensor];
  values_[sensor] = (kPs3Vref * level / kPs3MaxLevel - c.vref) / c.sensitivity;
  if (sensor == 0 && marker) marker_pending_ = true;
  if (sensor != kPs3Sensors - 1 || !have_time_) return;
  // The set is complete: one sample per active pair at the set's time.
  for (int p = 0; p < kPs3Sensors / 2; ++p)
    if (config_[2 * p].in_use && config_[2 * p + 1].in_use) {
      samples.push_back(SensorSample{t_us_, p, values_[2 * p + 1], values_[2 * p], 0});
      ++counts_.samples;
      ++counts_.binary_samples;
    }
  if (marker_pending_) {
    int id = 0;
    if (!marker_ids_.empty()) {
      id = marker_ids_.front();
      marker_ids_.pop_front();
    }
    markers.push_back(SensorMarker{t_us_, id, 0});
    ++counts_.markers;
    marker_pending_ = false;
  }
}

void PowerSensor3Protocol::feed(std::span<const uint8_t> bytes, std::vector<SensorSample>& samples,
                                std::vector<SensorMarker>& markers) {
  for (uint8_t b : bytes) {
    if (!have_byte_) {
      if (b & 0x80) {
        byte0_ = b;
        have_byte_ = true;
      } else {
        ++counts_.skipped_bytes;  // a second byte without its first: resynchronise
      }
      continue;
    }
    if (b & 0x80) {  // two first bytes in a row: a byte was lost, start again here
      ++counts_.skipped_bytes;
      byte0_ = b;
      continue;
    }
    have_byte_ = false;
    packet(byte0_, b, samples, markers);
  }
}

}  // namespace frugal::measure
