// Emulated GEMM: argument handling, threads over rows of C, the exact element-by-element
// path (every mode, compensated included), and convolution through im2col.
#include "frugal/kernels/emu/emu_gemm.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <thread>
#include <vector>

#include "frugal/core/error.h"
#include "frugal/core/rng.h"
#include "frugal/kernels/emu/emu_gemm_internal.h"
#include "frugal/numeric/expansions.h"
#include "frugal/numeric/quantize.h"

namespace frugal::kernels::emu {
namespace {

using numeric::FormatKind;
using numeric::RoundingMode;

std::atomic<int> g_threads{0};

// Rounds exact values (doubles rounded to odd) to the accumulator format; stochastic
// rounding takes the word at counter (t * M + i) * N4 + j (emu_gemm.h).
class ElementRounder {
 public:
  ElementRounder(const Accumulator& acc, int64_t M, int64_t N)
      : acc_(acc), philox_(acc.rounding.seed), M_(M), N4_((N + 3) / 4 * 4) {
    if (acc.format.kind == FormatKind::kFloat) range_ = numeric::float_range(acc.format);
  }
  double round(double x, int64_t i, int64_t j, int64_t t) const {
    uint32_t rnd = 0;
    if (acc_.rounding.mode == RoundingMode::kStochastic)
      rnd = numeric::detail::random_word_bits(
          philox_.u32(static_cast<uint64_t>((t * M_ + i) * N4_ + j)), acc_.rounding.random_bits);
    if (acc_.format.kind == FormatKind::kFloat)
      return numeric::detail::round_float_double(x, acc_.format, range_, acc_.rounding.mode, rnd,
                                                 acc_.rounding.random_bits);
    return numeric::detail::round_element(x, acc_.format, acc_.rounding.mode, rnd,
                                          acc_.rounding.random_bits);
  }
  double add(double a, double b, int64_t i, int64_t j, int64_t t) const {
    return round(numeric::sum_round_to_odd(a, b), i, j, t);
  }

 private:
  const Accumulator& acc_;
  Philox philox_;
  numeric::FloatRange range_;
  int64_t M_, N4_;
};

// Rows [i0, i1), element by element in double: every product exact, every sum rounded once.
void exact_rows(const detail::GemmJob& job, int64_t i0, int64_t i1) {
  const int64_t K = job.K, chunk = job.acc.chunk;
  if (job.acc.compensated) {
    // The double-word accumulation of numeric::dot, term by term.
    numeric::EmulatedArithmetic f(job.acc.format, job.acc.rounding);
    for (int64_t i = i0; i < i1; ++i)
      for (int64_t j = 0; j < job.N; ++j) {
        float* c = job.C + i * job.ldc + j;
        numeric::DoubleWord total{*c, 0}, part;
        const bool chunked = chunk > 0;
        numeric::DoubleWord& run = chunked ? part : total;
        for (int64_t p = 0; p < K; ++p) {
          const double prod =
              static_cast<double>(job.A[i * job.a_row + p * job.a_col]) * job.B[p * job.ldb + j];
          const double hi = f.round(prod);
          run = numeric::dw_plus_dw(run, {hi, f.round(numeric::sum_round_to_odd(prod, -hi))}, f);
          if (chunked && (p + 1) % chunk == 0) {
            total = numeric::dw_plus_dw(total, part, f);
            part = {};
          }
        }
        if (chunked) total = numeric::dw_plus_dw(total, part, f);
        *c = static_cast<float>(total.value());
      }
    return;
  }
  ElementRounder r(job.acc, job.M, job.N);
  for (int64_t i = i0; i < i1; ++i)
    for (int64_t j = 0; j < job.N; ++j) {
      float* c = job.C + i * job.ldc + j;
      double total = *c, part = 0;
      const float* a = job.A + i * job.a_row;
      const float* b = job.B + j;
      if (chunk == 0) {
        for (int64_t p = 0; p < K; ++p)
          total = r.add(total, static_cast<double>(a[p * job.a_col]) * b[p * job.ldb], i, j, p + 1);
      } else {
        int64_t chunks = 0;
        for (int64_t p = 0; p < K; ++p) {
          part = r.add(part, static_cast<double>(a[p * job.a_col]) * b[p * job.ldb], i, j, p + 1);
          if ((p + 1) % chunk == 0) {
            total = r.add(total, part, i, j, K + 1 + chunks++);
            part = 0;
          }
        }
        total = r.add(total, part, i, j, K + 1 + chunks);
      }
      *c = static_cast<float>(total);
    }
}

bool is_binary32(const numeric::NumberFormat& f) {
  return f == numeric::NumberFormat{};
}

void check_accumulator(const Accumulator& acc) {
  numeric::validate(acc.format);
  if (acc.format.block != 0)
    throw UserError("emu_gemm: accumulator " + numeric::to_string(acc.format) +
                    " has a shared block scale");
  if (acc.chunk < 0) throw UserError("emu_gemm: chunk must be 0 or more");
  if (acc.rounding.random_bits < 1 || acc.rounding.random_bits > 32)
    throw UserError("emu_gemm: random bits must be 1..32");
  if (acc.compensated && (acc.rounding.mode != RoundingMode::kNearestEven ||
                          acc.format.kind != FormatKind::kFloat))
    throw UserError("emu_gemm: compensated accumulation needs a float format and nearest-even");
}

int thread_count(int64_t M, int64_t N, int64_t K) {
  int t = g_threads.load();
  if (t <= 0) t = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  // Threads pay off from about 256k rounded additions each.
  const int64_t work = M * N * std::max<int64_t>(K, 1);
  t = static_cast<int>(std::min<int64_t>({t, M, std::max<int64_t>(1, work >> 18)}));
  return std::max(t, 1);
}

}  // namespace

void set_emu_threads(int threads) {
  g_threads.store(std::max(threads, 0));
}

void emu_gemm(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, const float* A,
              int64_t lda, const float* B, int64_t ldb, float* C, int64_t ldc,
              const Accumulator& acc, bool accumulate_into_c) {
  check_accumulator(acc);
  if (M < 0 || N < 0 || K < 0) throw UserError("emu_gemm: negative dimension");
  if (M == 0 || N == 0) return;

  detail::GemmJob job;
  job.M = M;
  job.N = N;
  job.K = K;
  job.A = A;
  job.a_row = trans_a ? 1 : lda;
  job.a_col = trans_a ? lda : 1;
  job.C = C;
  job.ldc = ldc;
  job.acc = acc;
  std::vector<float> packed_b;
  if (trans_b) {  // B(p, j) = B[j * ldb + p]: pack to K x N so that rows of B are contiguous
    packed_b.resize(static_cast<size_t>(K * N));
    for (int64_t j = 0; j < N; ++j)
      for (int64_t p = 0; p < K; ++p) packed_b[p * N + j] = B[j * ldb + p];
    job.B = packed_b.data();
    job.ldb = N;
  } else {
    job.B = B;
    job.ldb = ldb;
  }

  // Each element's initial accumulator value: C rounded to the format (addition 0), or 0.
  {
    ElementRounder r(acc, M, N);
    for (int64_t i = 0; i < M; ++i)
      for (int64_t j = 0; j < N; ++j) {
        float& c = C[i * ldc + j];
        c = accumulate_into_c ? static_cast<float>(r.round(c, i, j, 0)) : 0.0f;
      }
  }
  if (K == 0) return;

  const bool fast = !acc.compensated && detail::fast_kernel_available(acc);
  if (fast) {
    job.params = numeric::detail::make_float_params(acc.format, acc.rounding.random_bits);
    job.round_sums = !(is_binary32(acc.format) && acc.rounding.mode == RoundingMode::kNearestEven);
  }
  auto rows = [&](int64_t i0, int64_t i1) {
    if (fast) {
      detail::fast_rows_avx512(job, i0, i1);
    } else {
      exact_rows(job, i0, i1);
    }
  };
  const int threads = thread_count(M, N, K);
  if (threads == 1) {
    rows(0, M);
    return;
  }
  std::vector<std::thread> pool;
  std::exception_ptr error;
  std::atomic<bool> failed{false};
  const int64_t per = (M + threads - 1) / threads;
  for (int t = 0; t < threads; ++t) {
    const int64_t i0 = t * per, i1 = std::min(M, i0 + per);
    if (i0 >= i1) break;
    pool.emplace_back([&, i0, i1] {
      try {
        rows(i0, i1);
      } catch (...) {
        if (!failed.exchange(true)) error = std::current_exception();
      }
    });
  }
  for (auto& th : pool) th.join();
  if (error) std::rethrow_exception(error);
}

void emu_conv(const ConvShape& s, const float* x, const float* w, const float* bias, float* y,
              const Accumulator& acc) {
  if (s.group <= 0 || s.in_channels % s.group != 0 || s.out_channels % s.group != 0)
    throw UserError("emu_conv: channels " + std::to_string(s.in_channels) + " -> " +
                    std::to_string(s.out_channels) + " do not divide into " +
                    std::to_string(s.group) + " groups");
  const int64_t Cg = s.in_channels / s.group, Mg = s.out_channels / s.group;
  const int64_t taps = s.kernel[0] * s.kernel[1] * s.kernel[2];
  const int64_t K = Cg * taps;
  const int64_t P = s.out[0] * s.out[1] * s.out[2];
  const int64_t Pin = s.in[0] * s.in[1] * s.in[2];
  const int64_t ID = s.in[0], IH = s.in[1], IW = s.in[2];
  const int64_t OH = s.out[1], OW = s.out[2];
  std::vector<float> col(static_cast<size_t>(K * P));
  for (int64_t n = 0; n < s.batch; ++n)
    for (int64_t g = 0; g < s.group; ++g) {
      const float* xg = x + (n * s.in_channels + g * Cg) * Pin;
      float* yg = y + (n * s.out_channels + g * Mg) * P;
      // col[(c, kd, kh, kw), position]: the receptive field of every output position.
      float* dst = col.data();
      for (int64_t c = 0; c < Cg; ++c)
        for (int64_t kd = 0; kd < s.kernel[0]; ++kd)
          for (int64_t kh = 0; kh < s.kernel[1]; ++kh)
            for (int64_t kw = 0; kw < s.kernel[2]; ++kw, dst += P)
              for (int64_t q = 0; q < P; ++q) {
                const int64_t od = q / (OH * OW), oh = (q / OW) % OH, ow = q % OW;
                const int64_t id = od * s.strides[0] - s.pad_begin[0] + kd * s.dilations[0];
                const int64_t ih = oh * s.strides[1] - s.pad_begin[1] + kh * s.dilations[1];
                const int64_t iw = ow * s.strides[2] - s.pad_begin[2] + kw * s.dilations[2];
                const bool inside = id >= 0 && id < ID && ih >= 0 && ih < IH && iw >= 0 && iw < IW;
                dst[q] = inside ? xg[(c * ID + id) * IH * IW + ih * IW + iw] : 0.0f;
              }
      for (int64_t m = 0; m < Mg; ++m)
        std::fill(yg + m * P, yg + (m + 1) * P, bias ? bias[g * Mg + m] : 0.0f);
      emu_gemm(false, false, Mg, P, K, w + g * Mg * K, K, col.data(), P, yg, P, acc,
               bias != nullptr);
    }
}

}  // namespace frugal::kernels::emu
