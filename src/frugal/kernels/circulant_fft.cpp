#include "frugal/kernels/circulant_fft.h"

#include <algorithm>

namespace frugal::kernels {
namespace {

using cfloat = std::complex<float>;

// acc[k] += a[k] * (conj_b ? conj(b[k]) : b[k]) over n bins, written out so that it
// vectorizes (std::complex's operator* checks for NaN and infinity cases).
void mac(cfloat* acc, const cfloat* a, const cfloat* b, int64_t n, bool conj_b) {
  auto* r = reinterpret_cast<float*>(acc);
  const auto* x = reinterpret_cast<const float*>(a);
  const auto* y = reinterpret_cast<const float*>(b);
  const float sign = conj_b ? -1.0f : 1.0f;
  for (int64_t k = 0; k < n; ++k) {
    const float xr = x[2 * k], xi = x[2 * k + 1], yr = y[2 * k], yi = sign * y[2 * k + 1];
    r[2 * k] += xr * yr - xi * yi;
    r[2 * k + 1] += xr * yi + xi * yr;
  }
}

void scale(float* x, int64_t n, float f) {
  for (int64_t i = 0; i < n; ++i) x[i] *= f;
}

}  // namespace

CirculantFft::CirculantFft(const ops::CirculantBlocks& blocks, FftLibrary lib)
    : s_(blocks), fft_(blocks.b, lib), bins_(blocks.b / 2 + 1) {}

void CirculantFft::set_weights(const float* w) {
  weights_.resize(static_cast<size_t>(s_.p * s_.q * bins_));
  fft_.forward(w, weights_.data(), s_.p * s_.q);
}

void CirculantFft::forward(const float* x, float* y, int64_t rows) {
  in_.resize(static_cast<size_t>(rows * s_.q * bins_));
  out_.assign(static_cast<size_t>(rows * s_.p * bins_), cfloat{});
  fft_.forward(x, in_.data(), rows * s_.q);
  for (int64_t p = 0; p < s_.p; ++p)
    for (int64_t q = 0; q < s_.q; ++q) {
      const cfloat* c = &weights_[static_cast<size_t>((p * s_.q + q) * bins_)];
      for (int64_t r = 0; r < rows; ++r)
        mac(&out_[static_cast<size_t>((r * s_.p + p) * bins_)], c,
            &in_[static_cast<size_t>((r * s_.q + q) * bins_)], bins_, false);
    }
  fft_.inverse(out_.data(), y, rows * s_.p);
  scale(y, rows * s_.padded_out(), 1.0f / static_cast<float>(s_.b));
}

void CirculantFft::backward_data(const float* dy, float* dx, int64_t rows) {
  in_.resize(static_cast<size_t>(rows * s_.p * bins_));
  out_.assign(static_cast<size_t>(rows * s_.q * bins_), cfloat{});
  fft_.forward(dy, in_.data(), rows * s_.p);
  for (int64_t p = 0; p < s_.p; ++p)
    for (int64_t q = 0; q < s_.q; ++q) {
      const cfloat* c = &weights_[static_cast<size_t>((p * s_.q + q) * bins_)];
      for (int64_t r = 0; r < rows; ++r)
        mac(&out_[static_cast<size_t>((r * s_.q + q) * bins_)],
            &in_[static_cast<size_t>((r * s_.p + p) * bins_)], c, bins_, true);
    }
  fft_.inverse(out_.data(), dx, rows * s_.q);
  scale(dx, rows * s_.padded_in(), 1.0f / static_cast<float>(s_.b));
}

void CirculantFft::backward_weights(const float* dy, const float* x, float* dw, int64_t rows) {
  std::vector<cfloat> dys(static_cast<size_t>(rows * s_.p * bins_));
  in_.resize(static_cast<size_t>(rows * s_.q * bins_));
  out_.assign(static_cast<size_t>(s_.p * s_.q * bins_), cfloat{});
  fft_.forward(dy, dys.data(), rows * s_.p);
  fft_.forward(x, in_.data(), rows * s_.q);
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t p = 0; p < s_.p; ++p)
      for (int64_t q = 0; q < s_.q; ++q)
        mac(&out_[static_cast<size_t>((p * s_.q + q) * bins_)],
            &dys[static_cast<size_t>((r * s_.p + p) * bins_)],
            &in_[static_cast<size_t>((r * s_.q + q) * bins_)], bins_, true);
  fft_.inverse(out_.data(), dw, s_.p * s_.q);
  scale(dw, s_.p * s_.q * s_.b, 1.0f / static_cast<float>(s_.b));
}

void gather_rows(const float* x, const ops::FeatureLayout& l, int64_t width, float* rows) {
  for (int64_t o = 0; o < l.outer; ++o)
    for (int64_t t = 0; t < l.inner; ++t) {
      float* row = rows + (o * l.inner + t) * width;
      for (int64_t f = 0; f < l.features; ++f) row[f] = x[(o * l.features + f) * l.inner + t];
      std::fill(row + l.features, row + width, 0.0f);
    }
}

void scatter_rows(const float* rows, int64_t width, const ops::FeatureLayout& l, float* x) {
  for (int64_t o = 0; o < l.outer; ++o)
    for (int64_t t = 0; t < l.inner; ++t) {
      const float* row = rows + (o * l.inner + t) * width;
      for (int64_t f = 0; f < l.features; ++f) x[(o * l.features + f) * l.inner + t] = row[f];
    }
}

const float* CirculantRows::x_rows(const float* x) {
  if (direct_in()) return x;
  x_.resize(static_cast<size_t>(rows() * s_.padded_in()));
  gather_rows(x, in_, s_.padded_in(), x_.data());
  return x_.data();
}

float* CirculantRows::y_rows(float* y) {
  if (direct_out()) return y;
  y_.resize(static_cast<size_t>(rows() * s_.padded_out()));
  return y_.data();
}

void CirculantRows::finish_y(float* y) {
  if (!direct_out()) scatter_rows(y_.data(), s_.padded_out(), out_, y);
}

const float* CirculantRows::dy_rows(const float* dy) {
  if (direct_out()) return dy;
  dy_.resize(static_cast<size_t>(rows() * s_.padded_out()));
  gather_rows(dy, out_, s_.padded_out(), dy_.data());
  return dy_.data();
}

float* CirculantRows::dx_rows(float* dx) {
  if (direct_in()) return dx;
  dx_.resize(static_cast<size_t>(rows() * s_.padded_in()));
  return dx_.data();
}

void CirculantRows::finish_dx(float* dx) {
  if (!direct_in()) scatter_rows(dx_.data(), s_.padded_in(), in_, dx);
}

}  // namespace frugal::kernels
