#include "frugal/measure/serial_meter.h"

#include <algorithm>
#include <chrono>
#include <utility>

#include "frugal/core/error.h"
#include "frugal/measure/clock.h"

namespace frugal::measure {

void FrugalProtocol::restart(const SerialLine& line) {
  line.discard_input();
  parser_ = SensorStreamParser();
}

std::string FrugalProtocol::marker_command(int id) {
  return std::string("M") + static_cast<char>(id) + "\n";
}

SerialMeter::SerialMeter(SerialOptions options, std::unique_ptr<SensorProtocol> protocol)
    : options_(std::move(options)),
      protocol_(std::move(protocol)),
      line_(options_.path, options_.baud) {
  protocol_->open(line_);
}

SerialMeter::~SerialMeter() {
  stopping_ = true;
  if (reader_.joinable()) reader_.join();
  try {
    protocol_->close(line_);
  } catch (const std::exception&) {
    // The device went away: nothing left to tell it.
  }
}

void SerialMeter::read_loop() {
  uint8_t buf[4096];
  std::vector<SensorSample> samples;
  std::vector<SensorMarker> markers;
  // Once stopping_ is set, the line is drained: bytes that reached it before stop()
  // belong to the window.
  for (;;) {
    const bool draining = stopping_;
    const long n = line_.read_some(buf, draining ? 0.0 : 0.02);
    if (n < 0) {
      std::lock_guard<std::mutex> lock(mutex_);
      read_error_ = "serial: " + options_.path + " was closed or disconnected";
      return;
    }
    if (n == 0) {
      if (draining) return;
      continue;
    }
    samples.clear();
    markers.clear();
    protocol_->feed(std::span<const uint8_t>(buf, static_cast<size_t>(n)), samples, markers);
    for (auto& s : samples) options_.calibration.apply(s);
    std::lock_guard<std::mutex> lock(mutex_);
    bytes_ += n;
    samples_.insert(samples_.end(), samples.begin(), samples.end());
    markers_.insert(markers_.end(), markers.begin(), markers.end());
  }
}

void SerialMeter::start() {
  if (running_) throw InternalError("SerialMeter::start: already started");
  protocol_->restart(line_);
  samples_.clear();
  markers_.clear();
  bytes_ = 0;
  read_error_.clear();
  window_ = WindowBounds{};
  stopping_ = false;
  running_ = true;
  reader_ = std::thread([this] {
    try {
      read_loop();
    } catch (const UserError& e) {  // e.g. a calibration file for other channels
      std::lock_guard<std::mutex> lock(mutex_);
      read_error_ = e.what();
    }
  });
  if (options_.markers) mark(kStartMarker);
}

void SerialMeter::mark(int id) {
  line_.write_all(protocol_->marker_command(id));
}

std::vector<SensorSample> SerialMeter::take_samples() {
  std::lock_guard<std::mutex> lock(mutex_);
  return std::exchange(samples_, {});
}

std::string SerialMeter::no_data_message() const {
  return protocol_->scheme() + ": no data from " + options_.path + " (expected " +
         protocol_->description() + " at " + std::to_string(options_.baud) + " baud)";
}

void SerialMeter::await_data(double timeout_s) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(timeout_s);
  while (std::chrono::steady_clock::now() < deadline) {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (!read_error_.empty()) throw UserError(read_error_);
      if (!samples_.empty()) return;
    }
    sleep_seconds(0.01);
  }
  std::lock_guard<std::mutex> lock(mutex_);
  const std::string skipped = protocol_->counts().summary();
  throw UserError(no_data_message() + " within " + std::to_string(timeout_s).substr(0, 4) + " s" +
                  (bytes_ > 0 ? "; " + std::to_string(bytes_) + " bytes did not parse" : "") +
                  (skipped.empty() ? "" : " (" + skipped + ")"));
}

namespace {

const SensorMarker* find_marker(const std::vector<SensorMarker>& markers, int id, bool last) {
  const SensorMarker* found = nullptr;
  for (const auto& m : markers)
    if (m.id == id) {
      found = &m;
      if (!last) break;
    }
  return found;
}

}  // namespace

Reading SerialMeter::host_window_reading(const EnergyIntegrator& integrator) const {
  Reading r;
  r.joules = integrator.joules();
  r.duration_s = integrator.duration_s();
  r.samples = integrator.samples();
  r.period_s = integrator.mean_period_s();
  for (const auto& [ch, j] : integrator.joules_by_channel())
    r.joules_by_rail[rail_name(options_.rails, ch)] += j;
  std::string note = std::to_string(integrator.channels()) + " channel(s) summed";
  if (integrator.out_of_order() > 0)
    note += "; " + std::to_string(integrator.out_of_order()) + " out-of-order samples dropped";
  if (integrator.gaps() > 0)
    note += "; " + std::to_string(integrator.gaps()) + " gaps longer than max_gap_s not integrated";
  if (integrator.resets() > 0)
    note += "; the sensor restarted: samples before and after a restart are not joined";
  r.note = note;
  return r;
}

Reading SerialMeter::stop() {
  if (!running_) throw InternalError("SerialMeter::stop: not started");
  bool end_seen = false;
  size_t arrived_by_stop = 0;  // the host-time window ends with the samples in hand now
  {
    std::lock_guard<std::mutex> lock(mutex_);
    arrived_by_stop = samples_.size();
  }
  if (options_.markers) {
    mark(kEndMarker);
    const auto deadline =
        std::chrono::steady_clock::now() + std::chrono::duration<double>(options_.marker_timeout_s);
    while (!end_seen && std::chrono::steady_clock::now() < deadline) {
      sleep_seconds(0.002);
      std::lock_guard<std::mutex> lock(mutex_);
      end_seen = find_marker(markers_, kEndMarker, true) != nullptr;
    }
  }
  stopping_ = true;
  if (reader_.joinable()) reader_.join();
  running_ = false;
  if (read_error_.rfind("calibration ", 0) == 0) throw UserError(read_error_);

  EnergyIntegrator integrator(options_.max_gap_s);
  for (const auto& s : samples_) integrator.add(s);
  const std::string skipped = protocol_->counts().summary();
  if (integrator.samples() < 2 || integrator.duration_s() <= 0) {
    std::string why = read_error_.empty() ? "" : " (" + read_error_ + ")";
    if (!skipped.empty()) why += "; " + skipped;
    throw UserError(protocol_->scheme() +
                    ": fewer than two valid samples per channel arrived from " + options_.path +
                    " during the window" + why + ": check that the sensor speaks " +
                    protocol_->description() + " at " + std::to_string(options_.baud) + " baud");
  }
  Reading r = host_window_reading(integrator);
  window_.host_joules = r.joules;
  // Where a host-time window would lie on the sensor's clock: from the first sample
  // received after start() to the last one received before stop() was called.
  const auto host_end =
      samples_.begin() + static_cast<ptrdiff_t>(std::max<size_t>(arrived_by_stop, 1));
  const auto by_time = [](const SensorSample& a, const SensorSample& b) { return a.t_us < b.t_us; };
  window_.first_sample_us = std::min_element(samples_.begin(), host_end, by_time)->t_us;
  window_.last_sample_us = std::max_element(samples_.begin(), host_end, by_time)->t_us;

  if (options_.markers) {
    const SensorMarker* a = find_marker(markers_, kStartMarker, false);
    const SensorMarker* b = find_marker(markers_, kEndMarker, true);
    if (a && b && a->epoch == b->epoch && b->t_us > a->t_us) {
      const WindowEnergy w =
          integrate_window(samples_, a->t_us, b->t_us, a->epoch, options_.max_gap_s);
      r.joules = w.joules;
      r.duration_s = w.duration_s;
      r.joules_by_rail.clear();
      for (const auto& [ch, j] : w.joules_by_channel)
        r.joules_by_rail[rail_name(options_.rails, ch)] += j;
      r.note += "; window between the sensor's markers";
      window_.markers_used = true;
      window_.start_marker_us = a->t_us;
      window_.end_marker_us = b->t_us;
    } else {
      const char* which = !a ? "start" : !b ? "end" : "start and end";
      r.note += std::string("; the ") + which + " marker never arrived (or the sensor restarted " +
                "in between): window from host time";
    }
  }
  r.source = source();
  r.kind = EnergyKind::kMeasured;
  r.mean_watts = r.duration_s > 0 ? r.joules / r.duration_s : 0;
  if (!skipped.empty()) r.note += "; " + skipped;
  if (!read_error_.empty()) r.note += "; " + read_error_;
  return r;
}

}  // namespace frugal::measure
