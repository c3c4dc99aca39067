#include "frugal/measure/serial_protocol.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstring>

namespace frugal::measure {
namespace {

void put_u32(uint8_t* p, uint32_t v) {
  for (int i = 0; i < 4; ++i) p[i] = static_cast<uint8_t>(v >> (8 * i));
}
uint32_t get_u32(const uint8_t* p) {
  return uint32_t{p[0]} | uint32_t{p[1]} << 8 | uint32_t{p[2]} << 16 | uint32_t{p[3]} << 24;
}
void put_f32(uint8_t* p, float f) {
  uint32_t v;
  std::memcpy(&v, &f, 4);
  put_u32(p, v);
}
float get_f32(const uint8_t* p) {
  const uint32_t v = get_u32(p);
  float f;
  std::memcpy(&f, &v, 4);
  return f;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

template <typename T>
bool parse_number(std::string_view s, T& v) {
  s = trim(s);
  if (s.empty()) return false;
  if constexpr (std::is_floating_point_v<T>) {
    if (s.front() == '+') s.remove_prefix(1);
  }
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  return ec == std::errc() && p == s.data() + s.size();
}

std::string plural(int64_t n, const char* what) {
  return std::to_string(n) + " " + what + (n == 1 ? "" : "s");
}

}  // namespace

uint16_t crc16_ccitt_false(std::span<const uint8_t> bytes) {
  uint16_t crc = 0xFFFF;
  for (uint8_t b : bytes) {
    crc ^= static_cast<uint16_t>(b) << 8;
    for (int i = 0; i < 8; ++i)
      crc = static_cast<uint16_t>((crc & 0x8000) ? (crc << 1) ^ 0x1021 : crc << 1);
  }
  return crc;
}

std::array<uint8_t, kBinaryFrameBytes> encode_sample_frame(const SensorSample& s) {
  std::array<uint8_t, kBinaryFrameBytes> f{};
  f[0] = kFrameSync0;
  f[1] = kFrameSync1;
  f[2] = kFrameTypeSample;
  f[3] = static_cast<uint8_t>(s.channel);
  put_u32(&f[4], static_cast<uint32_t>(s.t_us));
  put_f32(&f[8], static_cast<float>(s.volts));
  put_f32(&f[12], static_cast<float>(s.amps));
  const uint16_t crc = crc16_ccitt_false(std::span<const uint8_t>(&f[2], 14));
  f[16] = static_cast<uint8_t>(crc);
  f[17] = static_cast<uint8_t>(crc >> 8);
  return f;
}

std::array<uint8_t, kBinaryFrameBytes> encode_event_frame(uint8_t type, int id, uint64_t t_us) {
  std::array<uint8_t, kBinaryFrameBytes> f{};
  f[0] = kFrameSync0;
  f[1] = kFrameSync1;
  f[2] = type;
  f[3] = static_cast<uint8_t>(id);
  put_u32(&f[4], static_cast<uint32_t>(t_us));
  const uint16_t crc = crc16_ccitt_false(std::span<const uint8_t>(&f[2], 14));
  f[16] = static_cast<uint8_t>(crc);
  f[17] = static_cast<uint8_t>(crc >> 8);
  return f;
}

std::string encode_sample_line(const SensorSample& s) {
  char buf[96];
  std::snprintf(buf, sizeof(buf), "%llu,%d,%.9g,%.9g\n", static_cast<unsigned long long>(s.t_us),
                s.channel, s.volts, s.amps);
  return buf;
}

std::string StreamCounts::summary() const {
  std::string out;
  auto add = [&](int64_t n, const char* what) {
    if (n == 0) return;
    out += (out.empty() ? "" : ", ") + plural(n, what);
  };
  add(garbage_lines, "garbage line");
  add(bad_frames, "bad frame");
  add(skipped_bytes, "stray byte");
  if (!out.empty()) out += " skipped";
  if (resets > 0) out += (out.empty() ? "" : "; ") + plural(resets, "sensor reset");
  return out;
}

uint64_t SensorStreamParser::unwrap(uint32_t t32) {
  if (have_t32_ && t32 < last_t32_ && last_t32_ - t32 > 0x80000000u)
    t32_epoch_ += uint64_t{1} << 32;
  have_t32_ = true;
  last_t32_ = t32;
  return t32_epoch_ + t32;
}

// The sensor restarted: its clock starts again, so later samples get a new epoch and
// are never joined to earlier ones.
void SensorStreamParser::on_boot() {
  have_t32_ = false;
  t32_epoch_ = 0;
  if (seen_sample_) {
    ++clock_epoch_;
    ++counts_.resets;
  }
}

bool SensorStreamParser::parse_event_line(std::string_view fields[4], size_t n,
                                          std::vector<SensorMarker>& markers) {
  const std::string_view kind = trim(fields[1]);
  if (n != 3 || (kind != "M" && kind != "B")) return false;
  SensorMarker m;
  if (!parse_number(fields[0], m.t_us) || !parse_number(fields[2], m.id)) return false;
  if (kind == "B") {
    on_boot();
    return true;
  }
  m.epoch = clock_epoch_;
  ++counts_.markers;
  markers.push_back(m);
  return true;
}

void SensorStreamParser::parse_line(const std::string& raw, std::vector<SensorSample>& out,
                                    std::vector<SensorMarker>& markers) {
  std::string_view line(raw);
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  if (trim(line).empty()) return;
  if (trim(line).front() == '#') {
    ++counts_.comment_lines;
    return;
  }
  std::string_view fields[4];
  size_t n = 0;
  for (;;) {
    const size_t comma = line.find(',');
    if (n == 4) {  // a fifth field
      ++n;
      break;
    }
    fields[n++] = line.substr(0, comma);
    if (comma == std::string_view::npos) break;
    line.remove_prefix(comma + 1);
  }
  if (n == 3) {
    if (!parse_event_line(fields, n, markers)) ++counts_.garbage_lines;
    return;
  }
  SensorSample s;
  int channel = -1;
  if (n != 4 || !parse_number(fields[0], s.t_us) || !parse_number(fields[1], channel) ||
      !parse_number(fields[2], s.volts) || !parse_number(fields[3], s.amps) || channel < 0 ||
      channel > 255 || !std::isfinite(s.volts) || !std::isfinite(s.amps)) {
    ++counts_.garbage_lines;
    return;
  }
  s.channel = channel;
  s.epoch = clock_epoch_;
  seen_sample_ = true;
  ++counts_.samples;
  ++counts_.ascii_samples;
  out.push_back(s);
}

void SensorStreamParser::feed(std::span<const uint8_t> bytes, std::vector<SensorSample>& out) {
  std::vector<SensorMarker> ignored;
  feed(bytes, out, ignored);
}

void SensorStreamParser::feed(std::span<const uint8_t> bytes, std::vector<SensorSample>& out,
                              std::vector<SensorMarker>& markers) {
  pending_.insert(pending_.end(), bytes.begin(), bytes.end());
  size_t pos = 0;
  const size_t n = pending_.size();
  while (pos < n) {
    if (discarding_line_) {
      // Inside an overlong line: drop bytes up to its newline or the next frame start.
      while (pos < n && pending_[pos] != '\n' && pending_[pos] != kFrameSync0) ++pos;
      if (pos == n) break;
      if (pending_[pos] == '\n') ++pos;
      discarding_line_ = false;
      continue;
    }
    const uint8_t c = pending_[pos];
    if (c == kFrameSync0) {
      if (n - pos < 2) break;  // wait for the second sync byte
      if (pending_[pos + 1] != kFrameSync1) {
        ++counts_.skipped_bytes;
        ++pos;
        continue;
      }
      if (n - pos < kBinaryFrameBytes) break;  // wait for the whole frame
      const uint8_t* f = &pending_[pos];
      const uint16_t crc = static_cast<uint16_t>(f[16] | f[17] << 8);
      const bool known_type =
          f[2] == kFrameTypeSample || f[2] == kFrameTypeMarker || f[2] == kFrameTypeBoot;
      if (!known_type || crc != crc16_ccitt_false(std::span<const uint8_t>(f + 2, 14))) {
        // Not a frame after all: resynchronise one byte further on.
        ++counts_.bad_frames;
        ++pos;
        continue;
      }
      pos += kBinaryFrameBytes;
      if (f[2] == kFrameTypeBoot) {
        on_boot();
        unwrap(get_u32(f + 4));
        continue;
      }
      if (f[2] == kFrameTypeMarker) {
        ++counts_.markers;
        markers.push_back(SensorMarker{unwrap(get_u32(f + 4)), f[3], clock_epoch_});
        continue;
      }
      SensorSample s;
      s.channel = f[3];
      s.t_us = unwrap(get_u32(f + 4));
      s.epoch = clock_epoch_;
      s.volts = get_f32(f + 8);
      s.amps = get_f32(f + 12);
      if (!std::isfinite(s.volts) || !std::isfinite(s.amps)) {
        ++counts_.bad_frames;
        continue;
      }
      seen_sample_ = true;
      ++counts_.samples;
      ++counts_.binary_samples;
      out.push_back(s);
      continue;
    }
    // A text line runs to '\n'; a sync byte inside it means the line was cut short.
    size_t end = pos;
    while (end < n && pending_[end] != '\n' && pending_[end] != kFrameSync0) ++end;
    if (end - pos > kMaxLineBytes) {
      ++counts_.garbage_lines;
      pos = end;
      if (end == n) discarding_line_ = true;
      continue;
    }
    if (end == n) break;  // incomplete line: wait for more
    const std::string line(pending_.begin() + static_cast<ptrdiff_t>(pos),
                           pending_.begin() + static_cast<ptrdiff_t>(end));
    if (pending_[end] == '\n') {
      parse_line(line, out, markers);
      pos = end + 1;
    } else {
      if (!trim(line).empty()) ++counts_.garbage_lines;  // partial line cut by a frame
      pos = end;
    }
  }
  pending_.erase(pending_.begin(), pending_.begin() + static_cast<ptrdiff_t>(pos));
}

void EnergyIntegrator::add(const SensorSample& s) {
  const double w = s.volts * s.amps;
  auto [it, inserted] = channels_.try_emplace(s.channel);
  Channel& c = it->second;
  if (inserted || s.epoch != c.epoch) {
    if (!inserted) ++resets_;  // a restarted sensor clock: not joined to the old one
    c.first_t = c.last_t = s.t_us;
    c.last_w = w;
    c.epoch = s.epoch;
    ++samples_;
    return;
  }
  if (s.t_us <= c.last_t) {
    ++out_of_order_;
    return;
  }
  const double dt_us = static_cast<double>(s.t_us - c.last_t);
  if (dt_us > max_gap_us_) {
    ++gaps_;
  } else {
    c.joules += 0.5 * (w + c.last_w) * dt_us * 1e-6;
    c.joined_us += dt_us;
    ++c.intervals;
  }
  c.last_t = s.t_us;
  c.last_w = w;
  ++samples_;
}

double EnergyIntegrator::joules() const {
  double j = 0;
  for (const auto& [ch, c] : channels_) j += c.joules;
  return j;
}

std::map<int, double> EnergyIntegrator::joules_by_channel() const {
  std::map<int, double> out;
  for (const auto& [ch, c] : channels_) out[ch] = c.joules;
  return out;
}

double EnergyIntegrator::duration_s() const {
  double d = 0;
  for (const auto& [ch, c] : channels_) d = std::max(d, c.joined_us * 1e-6);
  return d;
}

double EnergyIntegrator::mean_period_s() const {
  double us = 0;
  int64_t n = 0;
  for (const auto& [ch, c] : channels_) {
    us += c.joined_us;
    n += c.intervals;
  }
  return n > 0 ? us * 1e-6 / static_cast<double>(n) : 0;
}

}  // namespace frugal::measure
