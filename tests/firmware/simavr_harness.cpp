// frugal-simavr: runs the unmodified AVR sensor firmware (firmware/avr) in simavr, as an
// Arduino Uno wired to a load: it drives the ADC pins with an ACS712 and a voltage
// divider measuring a square-wave current at a fixed rail voltage, bridges the UART to a
// pseudo-terminal that frugal's serial meter opens like a real board, and logs what a
// test needs to check the firmware's clock (docs/power.md, "End to end in simavr").
//
//   frugal-simavr --elf FW.elf [--seconds S] [--realtime] [--log FILE]
//                 [--load volts=12,high=2,low=0,period_ms=10,duty=0.3]
//                 [--sensor volts_per_amp=0.185,divider=5.7] [--reset-at S] [--garble-at S]
//
// Prints "pty PATH" on stdout once the pty exists, then runs S simulated seconds.
// Log lines (simulated time in CPU cycles at 16 MHz):
//   timer_start CYCLE   the firmware started Timer1 (its microsecond clock is 0 there)
//   rx CYCLE BYTE       a host byte entered the UART receiver
//   reset CYCLE | garble CYCLE
#include <fcntl.h>
#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "avr_adc.h"
#include "avr_uart.h"
#include "sim_avr.h"
#include "sim_elf.h"
#include "sim_io.h"
#include "sim_irq.h"

namespace {

constexpr const char* kBoardMcu = "atmega328p";  // the only board this harness models
constexpr double kVref = 5.0;                    // AVcc of an Uno

struct Load {
  double volts = 12, high = 2, low = 0, period_ms = 10, duty = 0.3;
  double amps(double t_s) const {
    const double period = period_ms * 1e-3;
    const double phase = std::fmod(t_s, period);
    return phase < duty * period ? high : low;
  }
};
struct Sensor {
  double volts_per_amp = 0.185, divider = 5.7;
};

struct Options {
  std::string elf, log;
  double seconds = 2, reset_at = -1, garble_at = -1;
  bool realtime = false;
  Load load;
  Sensor sensor;
};

[[noreturn]] void fail(const std::string& why) {
  std::fprintf(stderr, "frugal-simavr: %s\n", why.c_str());
  std::exit(1);
}

std::map<std::string, double> parse_kv(const std::string& spec, const char* option) {
  std::map<std::string, double> kv;
  size_t pos = 0;
  while (pos < spec.size()) {
    size_t end = spec.find(',', pos);
    if (end == std::string::npos) end = spec.size();
    const std::string item = spec.substr(pos, end - pos);
    const size_t eq = item.find('=');
    char* rest = nullptr;
    const double v = eq == std::string::npos ? 0 : std::strtod(item.c_str() + eq + 1, &rest);
    if (eq == std::string::npos || rest == item.c_str() + eq + 1 || *rest)
      fail(std::string(option) + " " + spec + ": expected key=number items");
    kv[item.substr(0, eq)] = v;
    pos = end + 1;
  }
  return kv;
}

Options parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) fail(a + " needs a value");
      return argv[++i];
    };
    if (a == "--elf") {
      o.elf = value();
    } else if (a == "--log") {
      o.log = value();
    } else if (a == "--seconds") {
      o.seconds = std::atof(value().c_str());
    } else if (a == "--reset-at") {
      o.reset_at = std::atof(value().c_str());
    } else if (a == "--garble-at") {
      o.garble_at = std::atof(value().c_str());
    } else if (a == "--realtime") {
      o.realtime = true;
    } else if (a == "--load") {
      for (const auto& [k, v] : parse_kv(value(), "--load")) {
        if (k == "volts")
          o.load.volts = v;
        else if (k == "high")
          o.load.high = v;
        else if (k == "low")
          o.load.low = v;
        else if (k == "period_ms")
          o.load.period_ms = v;
        else if (k == "duty")
          o.load.duty = v;
        else
          fail("--load: unknown key " + k);
      }
    } else if (a == "--sensor") {
      for (const auto& [k, v] : parse_kv(value(), "--sensor")) {
        if (k == "volts_per_amp")
          o.sensor.volts_per_amp = v;
        else if (k == "divider")
          o.sensor.divider = v;
        else
          fail("--sensor: unknown key " + k);
      }
    } else {
      fail("unknown option " + a);
    }
  }
  if (o.elf.empty()) fail("--elf FW.elf is required");
  if (!(o.seconds > 0)) fail("--seconds must be positive");
  return o;
}

struct Harness {
  Options opt;
  avr_t* avr = nullptr;
  int master = -1, slave = -1;
  FILE* log = nullptr;
  std::vector<uint8_t> out;  // UART bytes waiting for the pty
  bool garble_pending = false;

  double sim_seconds() const { return static_cast<double>(avr->cycle) / avr->frequency; }

  // A successive-approximation ADC reads code = floor(Vin * 1024 / Vref) (ATmega328P
  // datasheet, "ADC Conversion Result"). simavr computes floor(mV * 1023 / Vref_mV) from
  // whole millivolts, so the harness feeds the millivolt value that makes simavr return
  // the datasheet's code.
  static uint32_t simavr_millivolts(double vin) {
    const double code = std::clamp(std::floor(vin * 1024.0 / kVref), 0.0, 1023.0);
    return static_cast<uint32_t>(std::ceil(code * kVref * 1000.0 / 1023.0));
  }

  void drive_adc() {
    const double amps = opt.load.amps(sim_seconds());
    const double sensor_out = kVref / 2 + opt.sensor.volts_per_amp * amps;
    const double rail = opt.load.volts / opt.sensor.divider;
    const uint32_t mv[4] = {simavr_millivolts(sensor_out), simavr_millivolts(rail),
                            simavr_millivolts(kVref / 2), simavr_millivolts(rail)};
    for (int pin = 0; pin < 4; ++pin)
      avr_raise_irq(avr_io_getirq(avr, AVR_IOCTL_ADC_GETIRQ, ADC_IRQ_ADC0 + pin), mv[pin]);
  }

  static void on_adc_start(avr_irq_t*, uint32_t, void* self) {
    static_cast<Harness*>(self)->drive_adc();
  }
  static void on_uart_out(avr_irq_t*, uint32_t value, void* self) {
    auto* h = static_cast<Harness*>(self);
    uint8_t b = static_cast<uint8_t>(value);
    if (h->garble_pending) {  // one corrupted byte and one stray byte, mid-frame
      b ^= 0xFF;
      h->out.push_back(0xA5);
      h->garble_pending = false;
    }
    h->out.push_back(b);
  }
  static void on_tccr1b(avr_irq_t*, uint32_t value, void* self) {
    auto* h = static_cast<Harness*>(self);
    if (value != 0 && h->log)
      std::fprintf(h->log, "timer_start %llu\n", static_cast<unsigned long long>(h->avr->cycle));
  }

  // Writes the UART's bytes to the pty. A reader that falls behind is waited for a
  // little (as a USB link would); one that stopped reading loses the bytes.
  void flush_out() {
    size_t done = 0;
    for (int waits = 0; done < out.size() && waits < 20;) {
      const ssize_t n = ::write(master, out.data() + done, out.size() - done);
      if (n > 0) {
        done += static_cast<size_t>(n);
      } else if (n < 0 && errno == EAGAIN) {
        pollfd p{master, POLLOUT, 0};
        ::poll(&p, 1, 10);
        ++waits;
      } else if (n < 0 && errno != EINTR) {
        break;
      }
    }
    out.clear();
  }

  // One host byte per 50 us of simulated time: below the UART's 10 us per byte, so the
  // receiver never overflows.
  void feed_host_byte() {
    uint8_t b;
    if (::read(master, &b, 1) != 1) return;
    if (log)
      std::fprintf(log, "rx %llu %u\n", static_cast<unsigned long long>(avr->cycle), unsigned{b});
    avr_raise_irq(avr_io_getirq(avr, AVR_IOCTL_UART_GETIRQ('0'), UART_IRQ_INPUT), b);
  }

  void open_pty() {
    char name[256];
    if (openpty(&master, &slave, name, nullptr, nullptr) != 0) fail("openpty failed");
    termios tio{};
    tcgetattr(slave, &tio);
    cfmakeraw(&tio);
    tcsetattr(slave, TCSANOW, &tio);
    fcntl(master, F_SETFL, O_NONBLOCK);
    std::printf("pty %s\n", name);
    std::fflush(stdout);
  }

  // simavr loads any ELF; the machine field says whether it is AVR code at all.
  void check_machine() const {
    unsigned char header[20] = {0};
    FILE* f = std::fopen(opt.elf.c_str(), "rb");
    if (!f) fail("cannot read firmware " + opt.elf + ": " + std::strerror(errno));
    const size_t n = std::fread(header, 1, sizeof header, f);
    std::fclose(f);
    if (n < sizeof header || std::memcmp(header,
                                         "\x7f"
                                         "ELF",
                                         4) != 0)
      fail("firmware " + opt.elf + " is not an ELF file");
    const int machine = header[18] | header[19] << 8;
    constexpr int kEmAvr = 83, kEmArm = 40;
    if (machine != kEmAvr)
      fail("firmware " + opt.elf + " is built for another architecture (ELF machine " +
           std::to_string(machine) + (machine == kEmArm ? ", ARM" : "") +
           "); this harness simulates " + kBoardMcu + " (Arduino Uno)");
  }

  void load_firmware() {
    check_machine();
    elf_firmware_t f;
    std::memset(&f, 0, sizeof f);
    if (::access(opt.elf.c_str(), R_OK) != 0)
      fail("cannot read firmware " + opt.elf + ": " + std::strerror(errno));
    if (elf_read_firmware(opt.elf.c_str(), &f) != 0)
      fail("firmware " + opt.elf + " is not an AVR ELF (a board this harness does not know)");
    if (std::string(f.mmcu) != kBoardMcu)
      fail("firmware " + opt.elf + " is built for board '" + (f.mmcu[0] ? f.mmcu : "unknown") +
           "'; this harness simulates " + kBoardMcu + " (Arduino Uno)");
    if (f.frequency != 16000000)
      fail("firmware " + opt.elf + " is built for " + std::to_string(f.frequency) +
           " Hz; an Arduino Uno runs at 16000000");
    avr = avr_make_mcu_by_name(f.mmcu);
    if (!avr) fail(std::string("simavr does not know ") + f.mmcu);
    avr_init(avr);
    avr->log = 0;
    avr_load_firmware(avr, &f);
    avr->vcc = avr->avcc = avr->aref = static_cast<uint32_t>(kVref * 1000);
  }

  void connect() {
    avr_irq_register_notify(avr_io_getirq(avr, AVR_IOCTL_ADC_GETIRQ, ADC_IRQ_OUT_TRIGGER),
                            on_adc_start, this);
    avr_irq_register_notify(avr_io_getirq(avr, AVR_IOCTL_UART_GETIRQ('0'), UART_IRQ_OUTPUT),
                            on_uart_out, this);
    // TCCR1B (0x81) written non-zero: Timer1, the firmware's clock, starts counting.
    avr_irq_register_notify(avr_iomem_getirq(avr, 0x81, nullptr, AVR_IOMEM_IRQ_ALL), on_tccr1b,
                            this);
  }

  static avr_cycle_count_t on_tick(avr_t* avr, avr_cycle_count_t when, void* self) {
    auto* h = static_cast<Harness*>(self);
    h->flush_out();
    h->feed_host_byte();
    return when + avr->frequency / 20000;  // every 50 us
  }

  void run() {
    avr_cycle_timer_register(avr, avr->frequency / 20000, on_tick, this);
    const auto wall0 = std::chrono::steady_clock::now();
    const auto end_cycle = static_cast<avr_cycle_count_t>(opt.seconds * avr->frequency);
    bool reset_done = opt.reset_at < 0, garble_done = opt.garble_at < 0;
    while (avr->cycle < end_cycle) {
      const int state = avr_run(avr);
      if (state == cpu_Done || state == cpu_Crashed) fail("the simulated CPU stopped (crash)");
      if (!reset_done && sim_seconds() >= opt.reset_at) {
        reset_done = true;
        if (log) std::fprintf(log, "reset %llu\n", static_cast<unsigned long long>(avr->cycle));
        avr_reset(avr);
        avr->vcc = avr->avcc = avr->aref = static_cast<uint32_t>(kVref * 1000);
      }
      if (!garble_done && sim_seconds() >= opt.garble_at) {
        garble_done = true;
        garble_pending = true;
        if (log) std::fprintf(log, "garble %llu\n", static_cast<unsigned long long>(avr->cycle));
      }
      if (opt.realtime && (avr->cycle & 0x3FFF) < 8) pace(wall0);
    }
    flush_out();
  }

  // Keeps simulated time from running ahead of the wall clock, so that a host's
  // timing (markers, windows) meets the firmware as it would on a real board.
  void pace(std::chrono::steady_clock::time_point wall0) const {
    const double ahead =
        sim_seconds() -
        std::chrono::duration<double>(std::chrono::steady_clock::now() - wall0).count();
    if (ahead > 0.001) std::this_thread::sleep_for(std::chrono::duration<double>(ahead));
  }
};

}  // namespace

int main(int argc, char** argv) {
  signal(SIGPIPE, SIG_IGN);
  Harness h;
  h.opt = parse(argc, argv);
  h.load_firmware();
  if (!h.opt.log.empty()) {
    h.log = std::fopen(h.opt.log.c_str(), "w");
    if (!h.log) fail("cannot write log " + h.opt.log + ": " + std::strerror(errno));
    std::setvbuf(h.log, nullptr, _IOLBF, 0);
  }
  h.connect();
  h.open_pty();
  h.run();
  if (h.log) std::fclose(h.log);
  std::printf("done %.6f\n", h.sim_seconds());
  std::fflush(stdout);
  // Hold the pty open a little so that a reader drains the last bytes.
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  return 0;
}
