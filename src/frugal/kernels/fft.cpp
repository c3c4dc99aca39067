#include "frugal/kernels/fft.h"

#include <fftw3.h>

#include <cmath>
#include <cstring>
#include <map>
#include <mutex>
#include <numbers>
#include <vector>

#include "frugal/core/error.h"

namespace frugal::kernels {

std::string to_string(FftLibrary lib) {
  return lib == FftLibrary::kOwn ? "own" : "fftw";
}

FftLibrary parse_fft_library(const std::string& text, const std::string& origin) {
  if (text == "own") return FftLibrary::kOwn;
  if (text == "fftw") return FftLibrary::kFftw;
  throw UserError(origin + " '" + text + "': must be own or fftw");
}

using cfloat = std::complex<float>;

// Radix-2 decimation in time on m = n/2 complex points, then the split that turns the FFT
// of z[t] = x[2t] + i x[2t+1] into the n/2+1 bins of the real signal (and back).
struct RealFft::Own {
  int64_t n, m;
  std::vector<int64_t> reversed;  // bit reversal of [0, m)
  std::vector<cfloat> twiddle;    // e^{-2 pi i k / m}, k < m/2
  std::vector<cfloat> split;      // e^{-2 pi i k / n}, k <= m
  std::vector<cfloat> z;

  explicit Own(int64_t size) : n(size), m(size / 2), reversed(m), split(m + 1), z(m) {
    int64_t bits = 0;
    while ((int64_t{1} << bits) < m) ++bits;
    for (int64_t i = 0; i < m; ++i) {
      int64_t r = 0;
      for (int64_t b = 0; b < bits; ++b) r |= ((i >> b) & 1) << (bits - 1 - b);
      reversed[i] = r;
    }
    for (int64_t k = 0; k < m / 2; ++k)
      twiddle.push_back(cfloat(std::polar(1.0, -2 * std::numbers::pi * k / m)));
    for (int64_t k = 0; k <= m; ++k)
      split[k] = cfloat(std::polar(1.0, -2 * std::numbers::pi * k / n));
  }

  // In place on z; `inverse` conjugates the twiddles (unnormalized).
  void complex_fft(bool inverse) {
    for (int64_t i = 0; i < m; ++i)
      if (i < reversed[i]) std::swap(z[i], z[reversed[i]]);
    for (int64_t len = 2; len <= m; len *= 2) {
      const int64_t half = len / 2, step = m / len;
      for (int64_t s = 0; s < m; s += len)
        for (int64_t k = 0; k < half; ++k) {
          cfloat w = twiddle[k * step];
          if (inverse) w = std::conj(w);
          const cfloat a = z[s + k], b = mul(w, z[s + k + half]);
          z[s + k] = a + b;
          z[s + k + half] = a - b;
        }
    }
  }
  // Plain product: std::complex's operator* guards against NaN/inf cases at a cost.
  static cfloat mul(cfloat a, cfloat b) {
    return {a.real() * b.real() - a.imag() * b.imag(), a.real() * b.imag() + a.imag() * b.real()};
  }

  void forward(const float* x, cfloat* out) {
    for (int64_t t = 0; t < m; ++t) z[t] = {x[2 * t], x[2 * t + 1]};
    complex_fft(false);
    for (int64_t k = 0; k <= m; ++k) {
      const cfloat zk = z[k % m], zc = std::conj(z[(m - k) % m]);
      const cfloat even = 0.5f * (zk + zc), odd = cfloat(0, -0.5f) * (zk - zc);
      out[k] = even + mul(split[k], odd);
    }
  }
  void inverse(const cfloat* in, float* x) {
    for (int64_t k = 0; k < m; ++k) {
      const cfloat xk = in[k], xc = std::conj(in[m - k]);
      const cfloat even = xk + xc, odd = mul(xk - xc, std::conj(split[k]));
      z[k] = even + cfloat(0, 1) * odd;
    }
    complex_fft(true);
    for (int64_t t = 0; t < m; ++t) {
      x[2 * t] = z[t].real();
      x[2 * t + 1] = z[t].imag();
    }
  }
};

namespace {
// FFTW's planner is not thread-safe; executing a plan is.
std::mutex& planner_mutex() {
  static std::mutex m;
  return m;
}
}  // namespace

// One plan per batch count (plan_many over contiguous signals), made on first use with
// FFTW_ESTIMATE (no timed planning: runs stay reproducible). A plan runs on other arrays
// only at the alignment it was made for; other arrays go through the planning buffers.
struct RealFft::Fftw {
  struct Plans {
    fftwf_plan forward = nullptr, inverse = nullptr;
    float* real = nullptr;
    fftwf_complex* spectrum = nullptr;
  };
  int64_t n;
  std::map<int64_t, Plans> plans;

  explicit Fftw(int64_t size) : n(size) {}
  ~Fftw() {
    std::lock_guard lock(planner_mutex());
    for (auto& [count, p] : plans) {
      fftwf_destroy_plan(p.forward);
      fftwf_destroy_plan(p.inverse);
      fftwf_free(p.real);
      fftwf_free(p.spectrum);
    }
  }
  Plans& plans_for(int64_t count) {
    auto it = plans.find(count);
    if (it != plans.end()) return it->second;
    std::lock_guard lock(planner_mutex());
    Plans p;
    const int bins = static_cast<int>(n / 2 + 1), size = static_cast<int>(n);
    p.real = fftwf_alloc_real(static_cast<size_t>(count * n));
    p.spectrum = fftwf_alloc_complex(static_cast<size_t>(count * bins));
    p.forward = fftwf_plan_many_dft_r2c(1, &size, static_cast<int>(count), p.real, nullptr, 1, size,
                                        p.spectrum, nullptr, 1, bins, FFTW_ESTIMATE);
    p.inverse = fftwf_plan_many_dft_c2r(1, &size, static_cast<int>(count), p.spectrum, nullptr, 1,
                                        bins, p.real, nullptr, 1, size, FFTW_ESTIMATE);
    if (!p.forward || !p.inverse)
      throw InternalError("FFTW could not plan a real FFT of size " + std::to_string(n));
    return plans.emplace(count, p).first->second;
  }
  static bool same_alignment(const void* a, const void* b) {
    return fftwf_alignment_of(reinterpret_cast<float*>(const_cast<void*>(a))) ==
           fftwf_alignment_of(reinterpret_cast<float*>(const_cast<void*>(b)));
  }
  void forward(const float* x, cfloat* out, int64_t count) {
    Plans& p = plans_for(count);
    auto* spec = reinterpret_cast<fftwf_complex*>(out);
    if (same_alignment(x, p.real) && same_alignment(out, p.spectrum)) {
      fftwf_execute_dft_r2c(p.forward, const_cast<float*>(x), spec);
      return;
    }
    std::copy(x, x + count * n, p.real);
    fftwf_execute(p.forward);
    std::memcpy(spec, p.spectrum, sizeof(fftwf_complex) * static_cast<size_t>(count * (n / 2 + 1)));
  }
  void inverse(cfloat* in, float* x, int64_t count) {
    Plans& p = plans_for(count);
    auto* spec = reinterpret_cast<fftwf_complex*>(in);
    if (same_alignment(x, p.real) && same_alignment(in, p.spectrum)) {
      fftwf_execute_dft_c2r(p.inverse, spec, x);
      return;
    }
    std::memcpy(p.spectrum, spec, sizeof(fftwf_complex) * static_cast<size_t>(count * (n / 2 + 1)));
    fftwf_execute(p.inverse);
    std::copy(p.real, p.real + count * n, x);
  }
};

RealFft::RealFft(int64_t n, FftLibrary lib) : n_(n), lib_(lib) {
  if (n < 2 || (n & (n - 1)) != 0)
    throw InternalError("RealFft: size " + std::to_string(n) + " is not a power of two >= 2");
  if (lib == FftLibrary::kOwn)
    own_ = std::make_unique<Own>(n);
  else
    fftw_ = std::make_unique<Fftw>(n);
}

RealFft::~RealFft() = default;

void RealFft::forward(const float* x, cfloat* spectrum, int64_t count) {
  if (count <= 0) return;
  if (fftw_) return fftw_->forward(x, spectrum, count);
  for (int64_t c = 0; c < count; ++c) own_->forward(x + c * n_, spectrum + c * bins());
}

void RealFft::inverse(cfloat* spectrum, float* x, int64_t count) {
  if (count <= 0) return;
  if (fftw_) return fftw_->inverse(spectrum, x, count);
  for (int64_t c = 0; c < count; ++c) own_->inverse(spectrum + c * bins(), x + c * n_);
}

}  // namespace frugal::kernels
