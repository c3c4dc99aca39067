// How fast must a power testbed sample? A numerical model of the firmware's sampling
// process (not the simulator: simavr runs at about real time, far too slow for this
// sweep): an inference draws P_idle + dP for d seconds; the sensor takes instantaneous
// samples every 1/f s on its own clock, at a random phase; the meter integrates them with
// frugal's own code over the window it believes the inference occupied:
//   markers:   edges stamped by the sensor when the host's marker byte arrives, late by a
//              host->sensor delay: uniform in [0, down] over USB full speed (1 ms frames),
//              or 13..17 us over a direct UART at 1 Mbaud (as measured in simavr)
//              (integrate_window, cut at the edges)
//   host time: edges at the samples that had reached the host when it started/stopped,
//              i.e. the true edges minus a sensor->host delay uniform in [0, up]
//              (EnergyIntegrator over the samples in between)
// and reports the p95 of |measured - true| / true over many phases and delays, where
// true = (P_idle + dP) x d. Everything here is an estimate from this model (docs/power.md).
//
//   bench_power_sampling [--trials N] [--up-ms U] [--down-ms D] [--seed S]
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

#include "frugal/measure/sensor_window.h"
#include "frugal/measure/serial_protocol.h"

namespace fm = frugal::measure;

namespace {

constexpr double kIdleW = 5, kActiveW = 10;  // dP on top of idle while inferring

struct Model {
  int trials = 400;
  double up_s = 4e-3, down_s = 1e-3, uart_lo_s = 13e-6, uart_hi_s = 17e-6;
  unsigned seed = 1;
};

double power_at(double t_s, double start_s, double d_s) {
  return kIdleW + (t_s >= start_s && t_s < start_s + d_s ? kActiveW : 0);
}

// Samples at k/f + phase over [0, span]: amps = watts at 1 V.
std::vector<fm::SensorSample> sample(double f, double phase_s, double span_s, double start_s,
                                     double d_s) {
  std::vector<fm::SensorSample> out;
  for (int64_t k = 0;; ++k) {
    const double t = phase_s + double(k) / f;
    if (t > span_s) break;
    out.push_back(fm::SensorSample{static_cast<uint64_t>(std::llround(t * 1e6)), 0, 1.0,
                                   power_at(t, start_s, d_s), 0});
  }
  return out;
}

double p95(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[static_cast<size_t>(0.95 * double(v.size() - 1))];
}

struct CellErrors {
  double usb_markers, uart_markers, host_time;  // p95 relative errors
};

// p95 relative errors for one rate and duration.
CellErrors errors(const Model& m, double f, double d_s, std::mt19937_64& rng) {
  std::uniform_real_distribution<double> unit(0, 1);
  std::vector<double> with, uart, without;
  const double margin = 0.02 + m.up_s + 2 / f;
  for (int i = 0; i < m.trials; ++i) {
    const double start = margin, end = margin + d_s;
    const auto s = sample(f, unit(rng) / f, end + margin, start, d_s);
    const double truth = (kIdleW + kActiveW) * d_s;
    // Markers: the sensor's stamps, late by the host->sensor delay.
    auto marker_error = [&](double late_a, double late_b) {
      const auto w = fm::integrate_window(s, uint64_t(std::llround((start + late_a) * 1e6)),
                                          uint64_t(std::llround((end + late_b) * 1e6)), 0, 1.0);
      return std::abs(w.joules - truth) / truth;
    };
    with.push_back(marker_error(unit(rng) * m.down_s, unit(rng) * m.down_s));
    const double uart_span = m.uart_hi_s - m.uart_lo_s;
    uart.push_back(
        marker_error(m.uart_lo_s + unit(rng) * uart_span, m.uart_lo_s + unit(rng) * uart_span));
    // Host time: the samples in hand at start() and stop(), late by sensor->host delay.
    const double ha = start - unit(rng) * m.up_s, hb = end - unit(rng) * m.up_s;
    fm::EnergyIntegrator e;
    for (const auto& x : s)
      if (double(x.t_us) * 1e-6 > ha && double(x.t_us) * 1e-6 <= hb) e.add(x);
    without.push_back(std::abs((e.samples() >= 2 ? e.joules() : 0) - truth) / truth);
  }
  return {p95(with), p95(uart), p95(without)};
}

}  // namespace

int main(int argc, char** argv) {
  Model m;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string a = argv[i];
    const double v = std::atof(argv[i + 1]);
    if (a == "--trials")
      m.trials = int(v);
    else if (a == "--up-ms")
      m.up_s = v * 1e-3;
    else if (a == "--down-ms")
      m.down_s = v * 1e-3;
    else if (a == "--seed")
      m.seed = unsigned(v);
    else {
      std::fprintf(stderr, "bench_power_sampling: unknown option %s\n", a.c_str());
      return 1;
    }
  }
  const double rates[] = {100, 500, 1000, 2000, 5000, 10000, 20000};
  const double durations_ms[] = {0.5, 1, 2, 5, 10, 50, 100};
  std::mt19937_64 rng(m.seed);
  std::printf(
      "estimate (numerical model): p95 |energy error| per inference, %d trials per cell; "
      "%.0f W idle + %.0f W while inferring; marker delay %.0f..%.0f us (UART) or 0..%.3g ms "
      "(USB), host-time delay 0..%.3g ms\n\n",
      m.trials, kIdleW, kActiveW, m.uart_lo_s * 1e6, m.uart_hi_s * 1e6, m.down_s * 1e3,
      m.up_s * 1e3);
  std::printf("| inference | alignment |");
  for (double f : rates) std::printf(" %g Hz |", f);
  std::printf("\n| --- | --- |");
  for (size_t i = 0; i < std::size(rates); ++i) std::printf(" --- |");
  std::printf("\n");
  for (double d : durations_ms) {
    std::vector<CellErrors> row;
    for (double f : rates) row.push_back(errors(m, f, d * 1e-3, rng));
    const char* names[] = {"markers, UART", "markers, USB", "host time"};
    for (int variant = 0; variant < 3; ++variant) {
      std::printf("| %g ms | %s |", d, names[variant]);
      for (const auto& c : row) {
        const double e = variant == 0 ? c.uart_markers : variant == 1 ? c.usb_markers : c.host_time;
        std::printf(" %.1f%% |", 100 * e);
      }
      std::printf("\n");
    }
  }
  return 0;
}
