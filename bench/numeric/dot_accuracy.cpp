// Dot-product accuracy table: relative error of sum x_i y_i (products exact) accumulated in
// binary32, bf16 and fp16, plain, chunked (32) and compensated (double-word), for 10^3 to
// 10^6 terms of random (uniform in (-1, 1)) and all-positive data, against MPFR.
//
//   ./bench_dot_accuracy [max_n]
#include <mpfr.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

#include "frugal/numeric/expansions.h"

namespace fn = frugal::numeric;

namespace {

double exact_rel_error(const std::vector<float>& x, const std::vector<float>& y, double v) {
  mpfr_t acc, t;
  mpfr_init2(acc, 2200);
  mpfr_init2(t, 2200);
  mpfr_set_zero(acc, 1);
  for (size_t i = 0; i < x.size(); ++i) {
    mpfr_set_d(t, x[i], MPFR_RNDN);
    mpfr_mul_d(t, t, y[i], MPFR_RNDN);
    mpfr_add(acc, acc, t, MPFR_RNDN);
  }
  mpfr_sub_d(t, acc, v, MPFR_RNDN);
  mpfr_div(t, t, acc, MPFR_RNDN);
  const double r = std::fabs(mpfr_get_d(t, MPFR_RNDN));
  mpfr_clear(acc);
  mpfr_clear(t);
  return r;
}

}  // namespace

int main(int argc, char** argv) {
  const size_t max_n = argc > 1 ? std::strtoull(argv[1], nullptr, 10) : 1000000;
  const char* accs[] = {"fp32", "bf16",          "bf16:chunk=32", "bf16:comp", "bf16:chunk=32:comp",
                        "fp16", "fp16:chunk=32", "fp16:comp"};
  std::printf("| data | n |");
  for (const char* a : accs) std::printf(" %s |", a);
  std::printf("\n|---|---|");
  for (size_t i = 0; i < std::size(accs); ++i) std::printf("---|");
  std::printf("\n");
  const auto t0 = std::chrono::steady_clock::now();
  for (bool positive : {false, true}) {
    for (size_t n = 1000; n <= max_n; n *= 10) {
      std::mt19937 rng(static_cast<uint32_t>(n) + (positive ? 1 : 0));
      std::uniform_real_distribution<float> u(positive ? 0.0f : -1.0f, 1.0f);
      // All-positive data is scaled by 1/16 per factor so that fp16 does not overflow.
      const float scale = positive ? 0.0625f : 1.0f;
      std::vector<float> x(n), y(n);
      for (size_t i = 0; i < n; ++i) {
        x[i] = u(rng) * scale;
        y[i] = u(rng) * scale;
      }
      std::printf("| %s | %zu |", positive ? "positive" : "random", n);
      for (const char* a : accs) {
        const double v = fn::dot(x, y, fn::parse_accumulator(a));
        std::printf(" %.1e |", exact_rel_error(x, y, v));
      }
      std::printf("\n");
      std::fflush(stdout);
    }
  }
  std::printf("\nrelative error |computed - exact| / |exact|; exact = MPFR (2200 bits); %.1f s\n",
              std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  return 0;
}
