// Real FFTs of a power-of-two size, batched: frugal's own radix-2 transform and FFTW's
// (libfftw3f), behind one interface so that the block-circulant kernels can run on either
// and the two can be measured against each other (docs/compression.md, "Block-circulant").
#pragma once

#include <complex>
#include <cstdint>
#include <memory>
#include <string>

namespace frugal::kernels {

enum class FftLibrary { kOwn, kFftw };
std::string to_string(FftLibrary lib);
// "own" | "fftw"; UserError naming `origin` otherwise.
FftLibrary parse_fft_library(const std::string& text, const std::string& origin);

// Transforms of `count` contiguous signals of n floats to n/2+1 complex bins each
// (X[k] = sum_t x[t] e^{-2 pi i k t / n}) and back.
class RealFft {
 public:
  RealFft(int64_t n, FftLibrary lib);  // n a power of two >= 2
  ~RealFft();
  RealFft(const RealFft&) = delete;
  RealFft& operator=(const RealFft&) = delete;

  int64_t size() const { return n_; }
  int64_t bins() const { return n_ / 2 + 1; }
  FftLibrary library() const { return lib_; }
  void forward(const float* x, std::complex<float>* spectrum, int64_t count);
  // Unnormalized: x = n * the signal. Overwrites `spectrum` (FFTW's c2r destroys its input).
  void inverse(std::complex<float>* spectrum, float* x, int64_t count);

 private:
  struct Own;
  struct Fftw;
  int64_t n_;
  FftLibrary lib_;
  std::unique_ptr<Own> own_;
  std::unique_ptr<Fftw> fftw_;
};

}  // namespace frugal::kernels
