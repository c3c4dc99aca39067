// frugal's protocol for external current/voltage sensors streaming over a serial line
// (docs/power.md specifies it). Two framings may be mixed in one stream:
//   ASCII:  "t_us,ch,volts,amps\n"   e.g. "1500000,0,5.012,0.731"  ('\r' before '\n'
//           allowed; empty lines and lines starting with '#' ignored)
//   binary: 18 bytes, little endian:
//           A5 5A | type=01 | ch u8 | t_us u32 | volts f32 | amps f32 | crc16 u16
//           crc16 = CRC-16/CCITT-FALSE (poly 0x1021, init 0xFFFF) over bytes 2..15.
//   events: type=02 marker (byte 3 = id, t_us = when the host's marker command arrived),
//           type=03 boot (byte 3 = board, t_us = clock at boot: the sensor was reset);
//           ASCII "t_us,M,id" and "t_us,B,board".
// Anything else is skipped and counted; nothing in the stream can make the parser fail
// or hold more than one line (kMaxLineBytes) or one frame in memory.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <span>
#include <string>
#include <vector>

namespace frugal::measure {

struct SensorSample {
  uint64_t t_us = 0;  // sensor clock, microseconds
  int channel = 0;    // 0..255
  double volts = 0;
  double amps = 0;
  int epoch = 0;  // sensor clock epoch: incremented by every boot (reset) event
};

// A marker the host asked for, timestamped by the sensor (firmware protocol) or the
// sample set it was attached to (PowerSensor3).
struct SensorMarker {
  uint64_t t_us = 0;
  int id = 0;
  int epoch = 0;
};

inline constexpr size_t kBinaryFrameBytes = 18;
inline constexpr uint8_t kFrameSync0 = 0xA5, kFrameSync1 = 0x5A, kFrameTypeSample = 0x01,
                         kFrameTypeMarker = 0x02, kFrameTypeBoot = 0x03;
inline constexpr size_t kMaxLineBytes = 128;

uint16_t crc16_ccitt_false(std::span<const uint8_t> bytes);
std::array<uint8_t, kBinaryFrameBytes> encode_sample_frame(const SensorSample& s);  // t_us mod 2^32
std::string encode_sample_line(const SensorSample& s);                              // with '\n'
// An event frame (marker or boot): `id` in byte 3, t_us, zero payload.
std::array<uint8_t, kBinaryFrameBytes> encode_event_frame(uint8_t type, int id, uint64_t t_us);

struct StreamCounts {
  int64_t samples = 0;  // accepted, both framings
  int64_t ascii_samples = 0;
  int64_t binary_samples = 0;
  int64_t comment_lines = 0;
  int64_t garbage_lines = 0;  // text that did not parse, incl. partial and overlong lines
  int64_t bad_frames = 0;     // sync seen but wrong type or checksum
  int64_t skipped_bytes = 0;  // bytes dropped while looking for a line or frame start
  int64_t markers = 0;
  int64_t resets = 0;           // boot events after the first sample: the sensor restarted
  std::string summary() const;  // "2 garbage lines, 1 bad frame skipped" or ""
};

class SensorStreamParser {
 public:
  // Consumes bytes and appends every complete sample to `out`.
  void feed(std::span<const uint8_t> bytes, std::vector<SensorSample>& out);
  // Also collects markers.
  void feed(std::span<const uint8_t> bytes, std::vector<SensorSample>& out,
            std::vector<SensorMarker>& markers);
  const StreamCounts& counts() const { return counts_; }

 private:
  void parse_line(const std::string& line, std::vector<SensorSample>& out,
                  std::vector<SensorMarker>& markers);
  bool parse_event_line(std::string_view fields[4], size_t n, std::vector<SensorMarker>& markers);
  uint64_t unwrap(uint32_t t32);
  void on_boot();
  std::vector<uint8_t> pending_;
  StreamCounts counts_;
  bool discarding_line_ = false;  // inside an overlong line: drop up to its newline
  bool have_t32_ = false;
  uint32_t last_t32_ = 0;
  uint64_t t32_epoch_ = 0;  // binary timestamps wrap every 2^32 us (71.6 min)
  int clock_epoch_ = 0;
  bool seen_sample_ = false;
};

// Integrates power = volts * amps per channel over the sensor's time with the trapezoid
// rule and sums the channels.
class EnergyIntegrator {
 public:
  // Consecutive samples of a channel further apart than max_gap_s are not joined (data was
  // lost); the gap is counted instead.
  explicit EnergyIntegrator(double max_gap_s = 1.0) : max_gap_us_(max_gap_s * 1e6) {}
  void add(const SensorSample& s);
  double joules() const;
  double duration_s() const;     // longest span of one channel's samples
  double mean_period_s() const;  // mean time between consecutive samples of a channel
  int64_t samples() const { return samples_; }
  int64_t channels() const { return static_cast<int64_t>(channels_.size()); }
  int64_t out_of_order() const { return out_of_order_; }
  int64_t gaps() const { return gaps_; }
  int64_t resets() const { return resets_; }
  std::map<int, double> joules_by_channel() const;

 private:
  struct Channel {
    uint64_t first_t = 0, last_t = 0;
    double last_w = 0;
    double joules = 0;
    double joined_us = 0;  // time covered by integrated intervals
    int64_t intervals = 0;
    int epoch = 0;
  };
  double max_gap_us_;
  std::map<int, Channel> channels_;
  int64_t samples_ = 0, out_of_order_ = 0, gaps_ = 0, resets_ = 0;
};

}  // namespace frugal::measure
