// PowerSensor3 (Netherlands eScience Center / ASTRON; github.com/nlesc-recruit/PowerSensor3)
// read directly over its USB serial line, implemented from its public host library and
// device firmware (docs/power.md, "PowerSensor3"):
//   host 'R'  -> device sends 8 sensor configurations, 41 bytes each, packed:
//                type char[16], pair name char[16], vref f32, sensitivity f32, in use u8;
//                the host sends one byte after each, the device ends with 'D'.
//   host 'S'  -> streaming: sets of 2-byte packets, a timestamp packet then sensors 0..7:
//                byte 0 = 1 iii llll (sensor id, level bits 9..6),
//                byte 1 = 0 m llllll (marker bit, level bits 5..0).
//                Sensor id 7 with the marker bit is the timestamp: 10 bits of microseconds.
//   host 'M'  -> the marker bit is set on sensor 0 of the next set.
//   host 'X'  -> streaming stops, the device answers FF 3F.
// A sensor's value = (3.3 V x level / 1023 - vref) / sensitivity; sensor 2p is pair p's
// current (sensitivity in V/A), 2p+1 its voltage (a gain). Active pairs become channels.
#pragma once

#include <array>
#include <deque>
#include <string>

#include "frugal/measure/serial_meter.h"

namespace frugal::measure {

inline constexpr int kPs3Sensors = 8;
inline constexpr size_t kPs3ConfigBytes = 41;
inline constexpr double kPs3Vref = 3.3;
inline constexpr int kPs3MaxLevel = 1023;

struct Ps3SensorConfig {
  std::string type, pair_name;
  float vref = 0, sensitivity = 1;
  bool in_use = false;
};
Ps3SensorConfig decode_ps3_config(std::span<const uint8_t, kPs3ConfigBytes> bytes);
std::array<uint8_t, kPs3ConfigBytes> encode_ps3_config(const Ps3SensorConfig& c);
// One 2-byte sensor packet (marker only on sensor 0) and a timestamp packet.
std::array<uint8_t, 2> encode_ps3_level(int sensor, int level, bool marker);
std::array<uint8_t, 2> encode_ps3_timestamp(uint32_t t_us);

class PowerSensor3Protocol final : public SensorProtocol {
 public:
  // Tests set the configuration directly; open() reads it from the device.
  void set_config(const std::array<Ps3SensorConfig, kPs3Sensors>& config) { config_ = config; }
  const std::array<Ps3SensorConfig, kPs3Sensors>& config() const { return config_; }
  std::string scheme() const override { return "powersensor3"; }
  std::string description() const override { return "the PowerSensor3 protocol"; }
  void open(const SerialLine& line) override;
  void restart(const SerialLine& line) override;
  void feed(std::span<const uint8_t> bytes, std::vector<SensorSample>& samples,
            std::vector<SensorMarker>& markers) override;
  StreamCounts counts() const override { return counts_; }
  std::string marker_command(int id) override;
  void close(const SerialLine& line) override;

 private:
  void packet(uint8_t b0, uint8_t b1, std::vector<SensorSample>& samples,
              std::vector<SensorMarker>& markers);
  std::array<Ps3SensorConfig, kPs3Sensors> config_;
  std::array<double, kPs3Sensors> values_{};
  bool have_byte_ = false;
  uint8_t byte0_ = 0;
  bool have_time_ = false;
  uint32_t last_t10_ = 0;
  uint64_t t_us_ = 0;
  bool marker_pending_ = false;
  std::deque<int> marker_ids_;  // ids in the order the host asked for them
  StreamCounts counts_;
};

}  // namespace frugal::measure
