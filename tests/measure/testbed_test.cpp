// The power testbed's host side: marker and boot events of frugal's protocol, windows
// between markers, calibration files, rail maps, and PowerSensor3 read from a simulated
// device on a pseudo-terminal written from its wire protocol (docs/power.md).
#include <gtest/gtest.h>

#include <poll.h>
#include <unistd.h>

#include <atomic>
#include <cmath>
#include <fstream>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "frugal/core/error.h"
#include "frugal/measure/clock.h"
#include "frugal/measure/power_select.h"
#include "frugal/measure/powersensor3.h"
#include "frugal/measure/sensor_window.h"
#include "frugal/measure/serial_meter.h"
#include "measure/test_pty.h"

using namespace frugal::measure;

namespace {

std::string bytes(const auto& a) {
  return std::string(reinterpret_cast<const char*>(a.data()), a.size());
}

void feed(SensorStreamParser& p, const std::string& s, std::vector<SensorSample>& out,
          std::vector<SensorMarker>& markers) {
  p.feed(std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(s.data()), s.size()), out,
         markers);
}

std::string temp_file(const char* name) {
  return ::testing::TempDir() + "frugal_testbed_" + std::to_string(getpid()) + "_" + name;
}

}  // namespace

TEST(SensorProtocolEvents, MarkersAndBootsInBothFramings) {
  const std::string stream = bytes(encode_sample_frame(SensorSample{1000, 0, 12, 1})) +
                             bytes(encode_event_frame(kFrameTypeMarker, '<', 1500)) +
                             "2000,0,12,1\n" + "2500,M,62\n" +
                             bytes(encode_event_frame(kFrameTypeBoot, 1, 3)) +  // a reset
                             "100,0,12,1\n" + "150,B,1\n" + "50,0,12,1\n";
  SensorStreamParser p;
  std::vector<SensorSample> s;
  std::vector<SensorMarker> m;
  feed(p, stream, s, m);
  ASSERT_EQ(s.size(), 4u);
  ASSERT_EQ(m.size(), 2u);
  EXPECT_EQ(m[0].t_us, 1500u);
  EXPECT_EQ(m[0].id, '<');
  EXPECT_EQ(m[1].t_us, 2500u);
  EXPECT_EQ(m[1].id, 62);
  EXPECT_EQ(s[1].epoch, 0);
  EXPECT_EQ(s[2].epoch, 1);  // after the boot frame
  EXPECT_EQ(s[3].epoch, 2);  // after the ASCII boot line
  EXPECT_EQ(p.counts().resets, 2);
  EXPECT_EQ(p.counts().garbage_lines, 0);
  EXPECT_NE(p.counts().summary().find("2 sensor resets"), std::string::npos);
  // The integrator never joins samples across a reset.
  EnergyIntegrator e;
  for (const auto& x : s) e.add(x);
  EXPECT_NEAR(e.joules(), 12 * 1 * 1e-3, 1e-12);  // only 1000..2000 us is joined
  EXPECT_EQ(e.resets(), 2);
}

TEST(IntegrateWindow, CutsIntervalsAtTheBoundsByInterpolation) {
  std::vector<SensorSample> s;
  for (int i = 0; i <= 10; ++i) {  // channel 0: P = t (W, t in ms); channel 1: 2 W
    s.push_back(SensorSample{uint64_t(i) * 1000, 0, 1.0, double(i), 0});
    s.push_back(SensorSample{uint64_t(i) * 1000, 1, 2.0, 1.0, 0});
  }
  s.push_back(SensorSample{500, 0, 99, 99, 1});  // another epoch: ignored
  const WindowEnergy w = integrate_window(s, 2500, 7250, 0, 1.0);
  // ch0: integral of t over 2.5..7.25 ms = (7.25^2 - 2.5^2)/2 W*ms; ch1: 2 W x 4.75 ms.
  EXPECT_NEAR(w.joules_by_channel.at(0), (7.25 * 7.25 - 2.5 * 2.5) / 2 * 1e-3, 1e-12);
  EXPECT_NEAR(w.joules_by_channel.at(1), 2 * 4.75e-3, 1e-12);
  EXPECT_NEAR(w.duration_s, 4.75e-3, 1e-15);
  EXPECT_EQ(w.samples, 10);  // 3..7 ms on each channel
}

TEST(Calibration, RoundTripsAndRefusesOtherChannels) {
  Calibration c;
  c.channels[0] = ChannelCalibration{0.0132, 1.01, 0.999};
  const std::string path = temp_file("cal.json");
  save_calibration(c, path);
  const Calibration back = load_calibration(path);
  ASSERT_EQ(back.channels.size(), 1u);
  SensorSample s{0, 0, 12.0, 2.0132, 0};
  back.apply(s);
  EXPECT_NEAR(s.amps, 2.0 * 1.01, 1e-12);
  EXPECT_NEAR(s.volts, 12.0 * 0.999, 1e-12);
  SensorSample other{0, 3, 12.0, 1.0, 0};
  try {
    back.apply(other);
    FAIL() << "a channel the file does not cover";
  } catch (const frugal::UserError& e) {
    EXPECT_NE(std::string(e.what()).find("covers channel(s) 0 but the sensor streams channel 3"),
              std::string::npos)
        << e.what();
  }
  std::ofstream(path) << "{\"channels\": {\"x\": {}}}";
  EXPECT_THROW(load_calibration(path), frugal::UserError);
  EXPECT_THROW(load_calibration(path + ".missing"), frugal::UserError);
  std::remove(path.c_str());
}

TEST(PowerMap, ParsesChannelsToDevices) {
  const auto m = parse_power_map("0=gpu0,2=edgetpu");
  EXPECT_EQ(rail_name(m, 0), "gpu0");
  EXPECT_EQ(rail_name(m, 2), "edgetpu");
  EXPECT_EQ(rail_name(m, 1), "ch1");
  EXPECT_THROW(parse_power_map("0:gpu"), frugal::UserError);
  EXPECT_THROW(parse_power_map("300=gpu"), frugal::UserError);
  EXPECT_THROW(parse_power_map("0="), frugal::UserError);
}

// A sensor that streams samples but ignores marker commands: the window falls back to
// host time and the reading says so.
TEST(SerialMeterMarkers, AMarkerThatNeverArrivesFallsBackToHostTime) {
  Pty pty;
  SerialOptions o;
  o.path = pty.path;
  o.markers = true;
  o.marker_timeout_s = 0.2;
  o.rails = {{0, "accel"}};
  SerialMeter meter(o);
  meter.start();
  std::string chunk;
  for (int ms = 0; ms <= 200; ++ms)
    chunk += bytes(encode_sample_frame(SensorSample{uint64_t(ms) * 1000, 0, 5.0, 2.0}));
  pty.write_all(chunk);
  sleep_seconds(0.1);
  const Reading r = meter.stop();
  EXPECT_NEAR(r.joules, 10.0 * 0.2, 1e-6);
  EXPECT_NE(r.note.find("marker never arrived"), std::string::npos) << r.note;
  EXPECT_NE(r.note.find("window from host time"), std::string::npos) << r.note;
  EXPECT_FALSE(meter.last_window().markers_used);
  EXPECT_NEAR(r.joules_by_rail.at("accel"), r.joules, 1e-12);
}

TEST(SerialMeterMarkers, NoDataNamesBaudAndProtocol) {
  Pty pty;
  SerialOptions o;
  o.path = pty.path;
  o.baud = 460800;
  SerialMeter meter(o);
  meter.start();
  try {
    meter.await_data(0.2);
    FAIL() << "no data was sent";
  } catch (const frugal::UserError& e) {
    EXPECT_NE(std::string(e.what()).find("expected frugal's sensor protocol at 460800 baud"),
              std::string::npos)
        << e.what();
  }
}

namespace {

// A PowerSensor3 written from its protocol (powersensor3.h): pair 0 a 12 V rail with a
// square-wave current (2 A for 30 of every 100 sets, else 0.2 A), pair 1 a 3.3 V rail at
// 0.5 A, pairs 2 and 3 unused; a set every 100 us of its clock.
class FakePowerSensor3 {
 public:
  static constexpr int kSetUs = 100;
  explicit FakePowerSensor3(bool answers = true) : answers_(answers) {
    config_[0] = {"ACS712-20", "12V", 1.65f, 0.066f, true};
    config_[1] = {"voltage", "12V", 0.0f, 0.2f, true};
    config_[2] = {"ACS712-5", "3V3", 1.65f, 0.185f, true};
    config_[3] = {"voltage", "3V3", 0.0f, 0.6f, true};
    thread_ = std::thread([this] { run(); });
  }
  ~FakePowerSensor3() {
    quit_ = true;
    thread_.join();
  }
  const std::string& path() const { return pty_.path; }
  // Sensor levels and decoded power of set n (what the host should compute).
  std::array<int, 8> levels(int64_t n) const {
    auto level = [](double v) { return int(std::lround(v * kPs3MaxLevel / kPs3Vref)); };
    const double amps = n % 100 < 30 ? 2.0 : 0.2;
    return {level(1.65 + 0.066 * amps),
            level(12 * 0.2),
            level(1.65 + 0.185 * 0.5),
            level(3.3 * 0.6),
            0,
            0,
            0,
            0};
  }
  double watts(int64_t n) const {
    const auto l = levels(n);
    auto value = [&](int s) {
      return (kPs3Vref * l[s] / kPs3MaxLevel - config_[s].vref) / config_[s].sensitivity;
    };
    return value(0) * value(1) + value(2) * value(3);
  }
  // The device's own trapezoid integral between two of its timestamps.
  double joules(uint64_t t0, uint64_t t1) const {
    double j = 0;
    for (uint64_t t = t0; t < t1; t += kSetUs)
      j += 0.5 * (watts(t / kSetUs) + watts(t / kSetUs + 1)) * kSetUs * 1e-6;
    return j;
  }

 private:
  void send(const std::string& s) { pty_.write_all(s); }
  void command(uint8_t c) {
    if (c == 'R') {
      for (int s = 0; s < kPs3Sensors; ++s) {
        send(bytes(encode_ps3_config(config_[s])));
        uint8_t ack;
        pollfd p{pty_.master, POLLIN, 0};
        if (::poll(&p, 1, 1000) <= 0 || ::read(pty_.master, &ack, 1) != 1) return;
      }
      send("D");
    } else if (c == 'S') {
      streaming_ = true;
      next_wall_ = now_seconds();
    } else if (c == 'X') {
      if (streaming_) send("\xFF\x3F\xFF\x3F");
      streaming_ = false;
    } else if (c == 'M') {
      mark_next_ = true;
    }
  }
  void run() {
    while (!quit_) {
      pollfd p{pty_.master, POLLIN, 0};
      if (::poll(&p, 1, 1) > 0 && (p.revents & POLLIN)) {
        uint8_t c;
        if (::read(pty_.master, &c, 1) == 1 && answers_) command(c);
      }
      if (!streaming_) continue;
      std::string out;
      for (; next_wall_ <= now_seconds(); next_wall_ += kSetUs * 1e-6, ++set_) {
        const uint64_t t = uint64_t(set_) * kSetUs;
        out += bytes(encode_ps3_timestamp(uint32_t(t)));
        const auto l = levels(set_);
        for (int s = 0; s < kPs3Sensors; ++s)
          out += bytes(encode_ps3_level(s, l[s], s == 0 && mark_next_));
        mark_next_ = false;
      }
      if (!out.empty()) send(out);
    }
  }

  Pty pty_;
  bool answers_;
  std::array<Ps3SensorConfig, kPs3Sensors> config_;
  std::thread thread_;
  std::atomic<bool> quit_{false};
  bool streaming_ = false, mark_next_ = false;
  double next_wall_ = 0;
  int64_t set_ = 0;
};

}  // namespace

TEST(PowerSensor3, ConfigRoundTripsThroughItsWireLayout) {
  const Ps3SensorConfig c{"ACS712-20", "GPU 12V", 1.65f, 0.066f, true};
  const auto b = encode_ps3_config(c);
  EXPECT_EQ(b.size(), 41u);
  const Ps3SensorConfig d = decode_ps3_config(b);
  EXPECT_EQ(d.type, "ACS712-20");
  EXPECT_EQ(d.pair_name, "GPU 12V");
  EXPECT_FLOAT_EQ(d.vref, 1.65f);
  EXPECT_FLOAT_EQ(d.sensitivity, 0.066f);
  EXPECT_TRUE(d.in_use);
  const auto l = encode_ps3_level(5, 0x2AB, true);
  EXPECT_EQ(l[0], 0x80 | 5 << 4 | 0xA);
  EXPECT_EQ(l[1], 0x40 | 0x2B);
}

TEST(PowerSensor3, SimulatedDeviceSumsPairsPerRailBetweenItsMarkers) {
  FakePowerSensor3 device;
  PowerConfig config;
  config.serial.markers = true;
  config.serial.rails = {{0, "accel"}, {1, "host"}};
  PowerChoice c = make_power_meter(parse_power_spec("powersensor3:" + device.path()), config);
  auto* meter = dynamic_cast<SerialMeter*>(c.meter.get());
  ASSERT_NE(meter, nullptr);
  EXPECT_EQ(meter->source(), "powersensor3:" + device.path());
  meter->start();
  sleep_seconds(0.4);
  const Reading r = meter->stop();
  const WindowBounds& w = meter->last_window();
  ASSERT_TRUE(w.markers_used) << r.note;
  const double expected = device.joules(w.start_marker_us, w.end_marker_us);
  std::printf(
      "powersensor3 simulated: %.6f J between markers (device's own integral %.6f J), "
      "%.3f s\n",
      r.joules, expected, r.duration_s);
  EXPECT_NEAR(r.joules, expected, 1e-6 * expected);
  EXPECT_NEAR(r.duration_s, 0.4, 0.1);
  ASSERT_EQ(r.joules_by_rail.size(), 2u);
  EXPECT_NEAR(r.joules_by_rail.at("accel") + r.joules_by_rail.at("host"), r.joules, 1e-9);
  // The 3.3 V rail draws a constant 3.3 V x 0.5 A (within the 10-bit levels).
  EXPECT_NEAR(r.joules_by_rail.at("host") / r.duration_s, 1.65, 0.02);
}

TEST(PowerSensor3, SilentDeviceIsNotAPowerSensor3) {
  FakePowerSensor3 silent(/*answers=*/false);
  try {
    make_power_meter(parse_power_spec("powersensor3:" + silent.path()));
    FAIL() << "a device that does not answer 'R'";
  } catch (const frugal::UserError& e) {
    EXPECT_NE(std::string(e.what()).find("no PowerSensor3 at " + silent.path()), std::string::npos)
        << e.what();
  }
}

TEST(PowerSpec, PowerSensor3NeedsAPath) {
  EXPECT_EQ(parse_power_spec("powersensor3:/dev/ttyACM0").kind, PowerSpec::Kind::kPowerSensor3);
  EXPECT_THROW(parse_power_spec("powersensor3:"), frugal::UserError);
}
