// End to end without hardware: the unmodified AVR firmware (firmware/avr) runs in simavr
// (tests/firmware/simavr_harness.cpp) with an ACS712 and a divider on a 12 V rail whose
// current is a square wave; frugal's SerialMeter reads the simulated UART through a
// pseudo-terminal. Checks energy against the analytic integral within the bound the
// 10-bit ADC predicts, marker timestamps, and recovery from a reset and garbled bytes.
#include <gtest/gtest.h>

#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "frugal/core/error.h"
#include "frugal/measure/clock.h"
#include "frugal/measure/sensor_window.h"
#include "frugal/measure/serial_meter.h"

extern char** environ;

using namespace frugal::measure;

namespace {

#ifdef FRUGAL_SIMAVR_HARNESS
constexpr const char* kHarness = FRUGAL_SIMAVR_HARNESS;
constexpr const char* kAvrElf = FRUGAL_AVR_FIRMWARE;
constexpr const char* kStm32Elf = FRUGAL_STM32_FIRMWARE;
#define SKIP_WITHOUT_SIMAVR()
#else
constexpr const char* kHarness = "";
constexpr const char* kAvrElf = "";
constexpr const char* kStm32Elf = "";
#define SKIP_WITHOUT_SIMAVR() \
  GTEST_SKIP() << "simavr harness not built (needs libsimavr-dev, libelf-dev, gcc-avr)"
#endif

constexpr double kCpuHz = 16e6;

// The load the harness simulates (its --load and --sensor defaults, restated).
struct Load {
  double volts = 12, high = 2, low = 0, period_s = 0.010, duty = 0.3;
  double volts_per_amp = 0.185, divider = 5.7;
  // Integral of V x I(t) over [a, b] seconds of simulated time.
  double joules(double a, double b) const {
    auto cumulative = [&](double t) {  // energy from 0 to t
      const double periods = std::floor(t / period_s);
      const double in = t - periods * period_s;
      const double high_time = periods * duty * period_s + std::min(in, duty * period_s);
      return volts * (high * high_time + low * (t - high_time));
    };
    return cumulative(b) - cumulative(a);
  }
  // What the 10-bit ADC can get wrong per sample: half a count on each pin after the
  // midpoint estimate (5 V / 1024 = 4.88 mV), through the sensor and the divider.
  double max_watts_error(double amps) const {
    const double lsb = 5.0 / 1024;
    const double di = 0.5 * lsb / volts_per_amp, dv = 0.5 * lsb * divider;
    return volts * di + std::abs(amps) * dv + di * dv;
  }
  // Bound on a window of `seconds` sampled every `ts`: quantization at every sample plus
  // one sample interval of full step at each end (where the interpolated cut lies).
  double bound_joules(double seconds, double ts) const {
    const double mean_dp = duty * max_watts_error(high) + (1 - duty) * max_watts_error(low);
    return seconds * mean_dp + 2 * volts * std::abs(high - low) * ts;
  }
};

struct HarnessRun {
  pid_t pid = -1;
  std::string pty, log;
  FILE* out = nullptr;

  HarnessRun(const std::vector<std::string>& extra, const std::string& log_path) : log(log_path) {
    std::vector<std::string> args = {kHarness, "--elf", kAvrElf, "--log", log_path};
    args.insert(args.end(), extra.begin(), extra.end());
    int pipefd[2];
    if (pipe(pipefd) != 0) throw std::runtime_error("pipe");
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, pipefd[1], 1);
    posix_spawn_file_actions_addclose(&fa, pipefd[0]);
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    if (posix_spawn(&pid, kHarness, &fa, nullptr, argv.data(), environ) != 0)
      throw std::runtime_error("cannot start the simavr harness");
    posix_spawn_file_actions_destroy(&fa);
    ::close(pipefd[1]);
    out = fdopen(pipefd[0], "r");
    char line[512];
    while (fgets(line, sizeof line, out)) {
      const std::string l(line);
      if (l.rfind("pty ", 0) == 0) {
        pty = l.substr(4, l.find_last_not_of("\r\n") - 3);
        break;
      }
    }
    if (pty.empty()) throw std::runtime_error("the simavr harness printed no pty");
  }
  // Blocks until the harness has simulated all its seconds.
  void wait_done() {
    char line[512];
    while (fgets(line, sizeof line, out))
      if (std::string(line).rfind("done", 0) == 0) return;
  }
  int wait() {
    int status = 0;
    if (pid > 0) waitpid(pid, &status, 0);
    pid = -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }
  ~HarnessRun() {
    if (pid > 0) {
      kill(pid, SIGTERM);
      wait();
    }
    if (out) fclose(out);
  }
};

struct HarnessLog {
  std::vector<uint64_t> timer_starts;        // cycles
  std::vector<std::pair<uint64_t, int>> rx;  // cycle, byte
  explicit HarnessLog(const std::string& path) {
    std::ifstream in(path);
    std::string kind;
    uint64_t cycle;
    while (in >> kind >> cycle) {
      if (kind == "timer_start") timer_starts.push_back(cycle);
      if (kind == "rx") {
        int b;
        in >> b;
        rx.emplace_back(cycle, b);
      }
    }
  }
  // The cycle at which the n-th host byte equal to `b` entered the UART.
  uint64_t rx_cycle(int b, int nth) const {
    for (const auto& [c, v] : rx)
      if (v == b && nth-- == 0) return c;
    return 0;
  }
};

double fw_us(uint64_t cycle, uint64_t timer_start) {  // the firmware's clock at a cycle
  return static_cast<double>(cycle - timer_start) * 1e6 / kCpuHz;
}

std::string temp_path(const char* name) {
  return ::testing::TempDir() + "frugal_simavr_" + std::to_string(getpid()) + "_" + name;
}

}  // namespace

TEST(SimavrEndToEnd, EnergyWithinAdcBoundAndMarkersOnTheRightSample) {
  SKIP_WITHOUT_SIMAVR();
  const Load load;
  // Simulated time runs at most as fast as the wall clock (--realtime); the harness is
  // stopped once the window is over.
  HarnessRun h({"--seconds", "20", "--realtime"}, temp_path("energy.log"));
  SerialOptions o;
  o.path = h.pty;
  o.baud = 1000000;
  o.markers = true;
  SerialMeter meter(o);
  sleep_seconds(0.3);  // the firmware boots
  meter.start();
  sleep_seconds(1.5);
  const Reading r = meter.stop();
  kill(h.pid, SIGTERM);
  h.wait();
  const HarnessLog log(h.log);
  ASSERT_EQ(log.timer_starts.size(), 1u);
  const uint64_t c0 = log.timer_starts[0];
  const WindowBounds& w = meter.last_window();
  ASSERT_TRUE(w.markers_used) << r.note;

  // Markers: stamped when their first byte ('M') finished arriving (10 us at 1 Mbaud).
  const double start_rx = fw_us(log.rx_cycle('M', 0), c0), end_rx = fw_us(log.rx_cycle('M', 1), c0);
  const double start_err = double(w.start_marker_us) - start_rx;
  const double end_err = double(w.end_marker_us) - end_rx;
  EXPECT_GE(start_err, 0);
  EXPECT_LE(start_err, 30);
  EXPECT_GE(end_err, 0);
  EXPECT_LE(end_err, 30);
  // ...and so on the right sample: at most a sample slot that fell within those
  // microseconds lies between the host's byte and its stamp, never a whole period's worth.
  std::vector<uint64_t> ts;
  for (const auto& s : meter.samples()) ts.push_back(s.t_us);
  auto before = [&](double t) {
    return std::count_if(ts.begin(), ts.end(), [&](uint64_t x) { return double(x) < t; });
  };
  EXPECT_LE(before(double(w.start_marker_us)) - before(start_rx), 1);
  EXPECT_GE(before(double(w.start_marker_us)) - before(start_rx), 0);
  EXPECT_LE(before(double(w.end_marker_us)) - before(end_rx), 1);
  EXPECT_GE(before(double(w.end_marker_us)) - before(end_rx), 0);

  // Energy between the markers against the integral of the injected waveform.
  const double t0 = (double(w.start_marker_us) + double(c0) * 1e6 / kCpuHz) * 1e-6;
  const double t1 = (double(w.end_marker_us) + double(c0) * 1e6 / kCpuHz) * 1e-6;
  const double expected = load.joules(t0, t1);
  const double bound = load.bound_joules(t1 - t0, 1e-3);
  std::printf(
      "simavr energy: measured %.5f J, analytic %.5f J, error %+.3f%% (bound %.3f%%), "
      "window %.6f s\n",
      r.joules, expected, 100 * (r.joules / expected - 1), 100 * bound / expected, t1 - t0);
  std::printf(
      "window misalignment: host-time start %+.0f us end %+.0f us; markers start %+.0f us "
      "end %+.0f us\n",
      double(w.first_sample_us) - start_rx, double(w.last_sample_us) - end_rx, start_err, end_err);
  RecordProperty("energy_error_percent", std::to_string(100 * (r.joules / expected - 1)));
  EXPECT_NEAR(r.joules, expected, bound);
  EXPECT_NEAR(r.period_s, 1e-3, 1e-6);
}

TEST(SimavrEndToEnd, RecoversFromAResetAndGarbledBytes) {
  SKIP_WITHOUT_SIMAVR();
  const Load load;
  HarnessRun h({"--seconds", "2.4", "--realtime", "--garble-at", "0.9", "--reset-at", "1.4"},
               temp_path("reset.log"));
  SerialOptions o;
  o.path = h.pty;
  o.baud = 1000000;
  SerialMeter meter(o);
  sleep_seconds(0.2);
  meter.start();
  h.wait_done();  // the window covers the garbled bytes and the reset, however slow the host
  const Reading r = meter.stop();
  ASSERT_EQ(h.wait(), 0);
  const HarnessLog log(h.log);
  ASSERT_EQ(log.timer_starts.size(), 2u) << "the reset should restart the firmware's clock";
  EXPECT_NE(r.note.find("bad frame"), std::string::npos) << r.note;
  EXPECT_NE(r.note.find("restarted"), std::string::npos) << r.note;

  // Each clock epoch integrates on its own; together they match the waveform's integral
  // over the covered spans.
  double expected = 0, covered = 0;
  for (int epoch = 0; epoch < 2; ++epoch) {
    uint64_t lo = UINT64_MAX, hi = 0;
    int64_t n = 0;
    for (const auto& s : meter.samples())
      if (s.epoch == epoch) {
        lo = std::min(lo, s.t_us);
        hi = std::max(hi, s.t_us);
        ++n;
      }
    ASSERT_GT(n, 100) << "epoch " << epoch;
    // Frames lost: at most the ones the garbled bytes touched.
    if (epoch == 0) {
      EXPECT_GE(n, int64_t((hi - lo) / 1000) - 2);
    }
    const double base = double(log.timer_starts[epoch]) / kCpuHz;
    expected += load.joules(base + double(lo) * 1e-6, base + double(hi) * 1e-6);
    covered += double(hi - lo) * 1e-6;
  }
  const double bound = load.bound_joules(covered, 1e-3) + 2 * 24 * 1e-3;  // the lost frame
  std::printf("simavr reset+garble: measured %.5f J, analytic %.5f J, error %+.3f%%\n", r.joules,
              expected, 100 * (r.joules / expected - 1));
  EXPECT_NEAR(r.joules, expected, bound);
}

TEST(SimavrEndToEnd, CommandsSetRateAndAsciiFraming) {
  SKIP_WITHOUT_SIMAVR();
  HarnessRun h({"--seconds", "20", "--realtime"}, temp_path("cmd.log"));  // stopped at the end
  SerialLine line(h.pty, 1000000);
  sleep_seconds(0.2);
  // Binary at 2 kHz: every interval is exactly the compare period.
  line.write_all("R2000\n");
  sleep_seconds(0.1);
  line.discard_input();
  SensorStreamParser parser;
  std::vector<SensorSample> samples;
  uint8_t buf[4096];
  auto collect = [&](double seconds) {
    const double end = now_seconds() + seconds;
    while (now_seconds() < end) {
      const long n = line.read_some(buf, 0.02);
      if (n > 0) parser.feed(std::span<const uint8_t>(buf, size_t(n)), samples);
    }
  };
  collect(0.3);
  ASSERT_GT(samples.size(), 100u);
  // Every interval is the compare period; a sample slot the main loop missed (counted as
  // an overrun by the firmware) shows up as a double interval.
  int missed = 0;
  for (size_t i = 2; i < samples.size(); ++i) {
    const uint64_t dt = samples[i].t_us - samples[i - 1].t_us;
    EXPECT_EQ(dt % 500, 0u) << "sample " << i;
    missed += dt != 500;
  }
  EXPECT_LE(missed, 1);
  // ASCII debug lines carry the same samples.
  line.write_all("R500\nA\n");
  collect(0.3);
  EXPECT_GT(parser.counts().ascii_samples, 20);
  EXPECT_LE(parser.counts().garbage_lines, 1);  // the line cut by the switch of framing
  EXPECT_NEAR(samples.back().volts, 12.0, 0.03);
}

TEST(SimavrEndToEnd, RefusesFirmwareForAnotherBoard) {
  SKIP_WITHOUT_SIMAVR();
  if (std::string(kStm32Elf).empty()) GTEST_SKIP() << "no STM32 build (arm-none-eabi-gcc missing)";
  const std::string cmd = std::string(kHarness) + " --elf " + kStm32Elf + " 2>&1 >/dev/null";
  FILE* p = popen(cmd.c_str(), "r");
  ASSERT_NE(p, nullptr);
  char line[512] = {0};
  std::string err;
  while (fgets(line, sizeof line, p)) err += line;
  const int status = pclose(p);
  EXPECT_EQ(WEXITSTATUS(status), 1);
  EXPECT_NE(err.find("built for another architecture (ELF machine 40, ARM)"), std::string::npos)
      << err;
  EXPECT_EQ(std::count(err.begin(), err.end(), '\n'), 1) << "one line: " << err;
}

// The `frugal power` commands against the simulated board: zero and gain calibration on a
// DC load, then a recording with the calibration applied reads the load's true power.
TEST(SimavrEndToEnd, PowerCommandsCalibrateAndRecord) {
  SKIP_WITHOUT_SIMAVR();
  const std::string frugal = std::string(FRUGAL_BINARY_DIR) + "/frugal";
  const std::string cal = temp_path("cal.json"), csv = temp_path("trace.csv");
  std::remove(cal.c_str());
  auto run = [&](const std::string& load, const std::string& args) {
    HarnessRun h({"--seconds", "20", "--realtime", "--load", load}, temp_path("cli.log"));
    const std::string cmd =
        frugal + " power " + args + " serial:" + h.pty + "@1000000 --timeout 5 2>&1";
    FILE* p = popen(cmd.c_str(), "r");
    std::string out;
    char line[512];
    while (p && fgets(line, sizeof line, p)) out += line;
    const int status = p ? pclose(p) : -1;
    EXPECT_EQ(WEXITSTATUS(status), 0) << cmd << "\n" << out;
    return out;
  };
  run("volts=12,high=0,low=0", "calibrate --channel 0 --zero --seconds 0.5 --file " + cal);
  run("volts=12,high=2,low=2", "calibrate --channel 0 --known-load 24 --seconds 0.5 --file " + cal);
  const Calibration c = load_calibration(cal);
  ASSERT_EQ(c.channels.count(0), 1u);
  // At 0 A the ADC reads code 512, whose midpoint is half a count above Vcc/2: +13.2 mA.
  EXPECT_NEAR(c.channels.at(0).amps_offset, 0.5 * 5.0 / 1024 / 0.185, 1e-4);
  const std::string out =
      run("volts=12,high=1.5,low=1.5", "record -o " + csv + " --duration 0.5 --calibration " + cal);
  std::printf("%s", out.c_str());
  std::ifstream in(csv);
  std::string header, row;
  std::getline(in, header);
  EXPECT_EQ(header, "t_us,epoch,kind,channel,rail,volts,amps,watts");
  double watts = 0;
  int n = 0;
  while (std::getline(in, row)) {
    watts += std::stod(row.substr(row.rfind(',') + 1));
    ++n;
  }
  ASSERT_GT(n, 300);
  // 18 W through a 10-bit ADC: the calibrated reading is within one count of current.
  EXPECT_NEAR(watts / n, 18.0, 12 * 5.0 / 1024 / 0.185);
  std::remove(cal.c_str());
  std::remove(csv.c_str());
  // monitor: one line per half second when not on a terminal, the rail's mean watts.
  const std::string mon =
      run("volts=12,high=2,low=0", "monitor --duration 1.2 --power-map 0=accel");
  const size_t at = mon.rfind("accel ");
  ASSERT_NE(at, std::string::npos) << mon;
  EXPECT_NEAR(std::stod(mon.substr(at + 6)), 7.2, 0.3) << mon;  // 24 W x 30 % duty
}
