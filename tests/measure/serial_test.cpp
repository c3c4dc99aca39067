#include <gtest/gtest.h>

#include <pty.h>
#include <unistd.h>

#include <cmath>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "frugal/core/error.h"
#include "frugal/measure/clock.h"
#include "frugal/measure/serial_meter.h"
#include "frugal/measure/serial_protocol.h"
#include "measure/test_pty.h"

using namespace frugal::measure;

namespace {

std::vector<SensorSample> parse_all(SensorStreamParser& p, const std::string& bytes) {
  std::vector<SensorSample> out;
  p.feed(std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()),
         out);
  return out;
}

std::string frame_bytes(const SensorSample& s) {
  const auto f = encode_sample_frame(s);
  return std::string(reinterpret_cast<const char*>(f.data()), f.size());
}

constexpr double kPi = 3.14159265358979323846;

// The test waveform: two channels sampled at 1 kHz for 1 s (t = 0 .. 1000 ms).
//   ch 0: V = 5 + 0.1 sin(2 pi t), I = 1 + 0.5 sin(2 pi t)
//         P = 5 + 2.6 sin(2 pi t) + 0.05 sin^2(2 pi t)  ->  integral over 1 s = 5.025 J
//   ch 1: V = 12, I = 0.25 + 0.2 sin(6 pi t + 0.3)      ->  integral = 3 J (whole periods)
constexpr double kExpectedJoules = 5.025 + 3.0;
SensorSample waveform(int ch, int ms) {
  const double t = ms * 1e-3;
  SensorSample s;
  s.t_us = static_cast<uint64_t>(ms) * 1000 + 7'000'000;  // the sensor's clock started earlier
  s.channel = ch;
  if (ch == 0) {
    s.volts = 5 + 0.1 * std::sin(2 * kPi * t);
    s.amps = 1 + 0.5 * std::sin(2 * kPi * t);
  } else {
    s.volts = 12;
    s.amps = 0.25 + 0.2 * std::sin(6 * kPi * t + 0.3);
  }
  return s;
}

// Runs a window on a meter reading `pty` while a thread writes `chunks` (one per ms of
// sensor time, paced in bursts), and returns the reading.
Reading run_window(SerialMeter& meter, const Pty& pty, const std::vector<std::string>& chunks) {
  meter.start();
  std::thread writer([&] {
    std::string burst;
    for (size_t i = 0; i < chunks.size(); ++i) {
      burst += chunks[i];
      if (i % 50 == 49 || i + 1 == chunks.size()) {
        pty.write_all(burst);
        burst.clear();
        sleep_seconds(0.002);
      }
    }
  });
  writer.join();
  sleep_seconds(0.2);  // let the line discipline hand over the last bytes
  return meter.stop();
}

}  // namespace

TEST(SerialProtocol, Crc16CcittFalseCheckValue) {
  const std::string check = "123456789";
  EXPECT_EQ(crc16_ccitt_false(std::span<const uint8_t>(
                reinterpret_cast<const uint8_t*>(check.data()), check.size())),
            0x29B1);
}

TEST(SerialProtocol, FrameLayout) {
  const auto f = encode_sample_frame(SensorSample{0x01020304, 2, 1.0, 2.0});
  const uint8_t head[16] = {0xA5, 0x5A, 0x01, 0x02, 0x04, 0x03, 0x02, 0x01,
                            0x00, 0x00, 0x80, 0x3F, 0x00, 0x00, 0x00, 0x40};  // 1.0f, 2.0f
  EXPECT_EQ(std::memcmp(f.data(), head, 16), 0);
  const uint16_t crc = crc16_ccitt_false(std::span<const uint8_t>(head + 2, 14));
  EXPECT_EQ(f[16], crc & 0xFF);
  EXPECT_EQ(f[17], crc >> 8);
}

TEST(SerialProtocol, ParsesBothFramingsFedByteByByte) {
  const std::string stream = "# sensor v1\r\n1000,0,5.0,1.5\r\n\n2000,1,+12,0.25\n" +
                             frame_bytes(SensorSample{3000, 3, 3.3, 0.5});
  SensorStreamParser whole, bytewise;
  const auto a = parse_all(whole, stream);
  std::vector<SensorSample> b;
  for (char c : stream) {
    auto part = parse_all(bytewise, std::string(1, c));
    b.insert(b.end(), part.begin(), part.end());
  }
  ASSERT_EQ(a.size(), 3u);
  ASSERT_EQ(b.size(), 3u);
  EXPECT_EQ(a[0].t_us, 1000u);
  EXPECT_EQ(a[0].channel, 0);
  EXPECT_DOUBLE_EQ(a[0].volts, 5.0);
  EXPECT_DOUBLE_EQ(a[0].amps, 1.5);
  EXPECT_EQ(a[1].channel, 1);
  EXPECT_DOUBLE_EQ(a[1].volts, 12.0);
  EXPECT_EQ(a[2].t_us, 3000u);
  EXPECT_EQ(a[2].channel, 3);
  EXPECT_FLOAT_EQ(static_cast<float>(a[2].volts), 3.3f);
  for (size_t i = 0; i < 3; ++i) EXPECT_EQ(a[i].t_us, b[i].t_us);
  EXPECT_EQ(whole.counts().comment_lines, 1);
  EXPECT_EQ(whole.counts().garbage_lines, 0);
  EXPECT_EQ(whole.counts().binary_samples, 1);
  EXPECT_EQ(whole.counts().ascii_samples, 2);
}

TEST(SerialProtocol, SkipsAndCountsGarbage) {
  std::string bad_crc = frame_bytes(SensorSample{5, 0, 1, 1});
  bad_crc[16] ^= 0xFF;
  const std::string stream = std::string("hello world\n") +  // not four fields
                             "10,abc,1,2\n" +                // channel not a number
                             "10,0,1,2,3\n" +                // five fields
                             "10,300,1,2\n" +                // channel out of range
                             "10,0,nan,2\n" +                // not finite
                             "20,0,1," +                     // cut short by a frame:
                             frame_bytes(SensorSample{30, 0, 2, 2}) + bad_crc +
                             std::string(300, 'x') + "\n" +  // overlong line
                             "\xA5\x01\n" +                  // a stray sync byte, a control byte
                             "40,0,1,1\n";
  SensorStreamParser p;
  const auto s = parse_all(p, stream);
  ASSERT_EQ(s.size(), 2u);
  EXPECT_EQ(s[0].t_us, 30u);
  EXPECT_EQ(s[1].t_us, 40u);
  // Six bad lines, the overlong line (which swallowed the rest of the bad frame), "\x01".
  EXPECT_EQ(p.counts().garbage_lines, 8);
  EXPECT_EQ(p.counts().skipped_bytes, 1);
  EXPECT_GE(p.counts().bad_frames, 1);
  EXPECT_FALSE(p.counts().summary().empty());
}

TEST(SerialProtocol, BinaryTimestampsUnwrap) {
  SensorStreamParser p;
  const auto s = parse_all(p, frame_bytes(SensorSample{0xFFFFFF00u, 0, 1, 1}) +
                                  frame_bytes(SensorSample{0x00000100u, 0, 1, 1}));
  ASSERT_EQ(s.size(), 2u);
  EXPECT_EQ(s[1].t_us - s[0].t_us, 0x200u);
}

TEST(EnergyIntegrator, TrapezoidIsExactForLinearPower) {
  EnergyIntegrator e;
  // P ramps 0 -> 10 W over 2 s on channel 0; constant 3 W on channel 1.
  for (int i = 0; i <= 20; ++i) {
    e.add(SensorSample{static_cast<uint64_t>(i) * 100000, 0, 1.0, i * 0.5});
    e.add(SensorSample{static_cast<uint64_t>(i) * 100000, 1, 3.0, 1.0});
  }
  EXPECT_NEAR(e.joules(), 10.0 + 6.0, 1e-12);
  EXPECT_NEAR(e.duration_s(), 2.0, 1e-12);
  EXPECT_NEAR(e.mean_period_s(), 0.1, 1e-12);
  e.add(SensorSample{5, 0, 1, 1});  // backwards in time: dropped
  EXPECT_EQ(e.out_of_order(), 1);
  EXPECT_EQ(e.samples(), 42);
}

TEST(SerialMeter, IntegratesAKnownWaveformFromAPty) {
  Pty pty;
  SerialMeter meter(SerialOptions{pty.path, 921600});
  std::vector<std::string> chunks;
  for (int ms = 0; ms <= 1000; ++ms)
    chunks.push_back(encode_sample_line(waveform(0, ms)) + frame_bytes(waveform(1, ms)));
  const Reading r = run_window(meter, pty, chunks);
  EXPECT_NEAR(r.joules, kExpectedJoules, 0.005 * kExpectedJoules);
  EXPECT_EQ(r.samples, 2002);
  EXPECT_NEAR(r.duration_s, 1.0, 1e-9);
  EXPECT_NEAR(r.period_s, 1e-3, 1e-9);
  EXPECT_NEAR(r.mean_watts, kExpectedJoules, 0.005 * kExpectedJoules);
  EXPECT_EQ(r.source, "serial:" + pty.path);
  EXPECT_EQ(meter.counts().garbage_lines, 0);
  std::printf("serial pty waveform: %.6f J measured, %.6f J expected, error %.4f%%\n", r.joules,
              kExpectedJoules, 100.0 * (r.joules - kExpectedJoules) / kExpectedJoules);
}

TEST(SerialMeter, GarbageInterleavedIsSkippedAndCounted) {
  Pty pty;
  SerialMeter meter(SerialOptions{pty.path, 115200});
  std::vector<std::string> chunks;
  int garbage = 0;
  for (int ms = 0; ms <= 1000; ++ms) {
    std::string c = encode_sample_line(waveform(0, ms)) + frame_bytes(waveform(1, ms));
    if (ms % 97 == 5) {
      c += "ERROR: sensor overcurrent?\n";
      ++garbage;
    }
    if (ms % 131 == 7) {
      c += std::string("\xA5\x5A\x01\x00garbage!!garbage!!", 22);  // a frame with a bad CRC
    }
    if (ms % 211 == 9) {
      c += "12,0,";  // a partial line, cut by the next frame
      ++garbage;
    }
    chunks.push_back(c);
  }
  const Reading r = run_window(meter, pty, chunks);
  EXPECT_NEAR(r.joules, kExpectedJoules, 0.005 * kExpectedJoules);
  EXPECT_GE(meter.counts().garbage_lines, garbage);
  EXPECT_GE(meter.counts().bad_frames, 1);
  EXPECT_NE(r.note.find("skipped"), std::string::npos) << r.note;
}

TEST(SerialMeter, NoSamplesIsAnError) {
  Pty pty;
  SerialMeter meter(SerialOptions{pty.path, 9600});
  meter.start();
  pty.write_all("not a sensor\n");
  sleep_seconds(0.1);
  EXPECT_THROW(meter.stop(), frugal::UserError);
}

TEST(SerialMeter, BadPathsAndRates) {
  try {
    SerialMeter m(SerialOptions{"/dev/frugal-no-such-tty", 115200});
    FAIL() << "expected UserError";
  } catch (const frugal::UserError& e) {
    EXPECT_NE(std::string(e.what()).find("/dev/frugal-no-such-tty"), std::string::npos);
  }
  try {
    SerialMeter m(SerialOptions{"/dev/null", 115200});
    FAIL() << "expected UserError";
  } catch (const frugal::UserError& e) {
    EXPECT_NE(std::string(e.what()).find("not a terminal"), std::string::npos) << e.what();
  }
  EXPECT_THROW(SerialMeter(SerialOptions{"/dev/null", 12345}), frugal::UserError);
}
