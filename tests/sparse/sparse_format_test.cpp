// Sparse storage formats (exact bytes, lossless encoding) and the sparse products against a
// plain double-precision reference, for every format and ISA over odd shapes and sparsity
// levels (0, 50, 90, 99 %, all-zero rows, an all-zero matrix).
#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "frugal/core/error.h"
#include "frugal/core/rng.h"
#include "frugal/kernels/cpu/sparse_format.h"
#include "frugal/kernels/cpu/sparse_matmul.h"

namespace frugal::kernels::cpu {
namespace {

const SparseFormat kFormats[] = {SparseFormat::kCsr, SparseFormat::kBcsr1x16,
                                 SparseFormat::kBcsr4x16, SparseFormat::kBitmap};

// rows x cols, N(0,1) entries, a fraction `sparsity` of them zero, and every 5th row all
// zero when `zero_rows`.
std::vector<float> pruned(int64_t rows, int64_t cols, double sparsity, uint64_t seed,
                          bool zero_rows = false) {
  std::vector<float> a(rows * cols);
  Philox rng(seed, 3);
  for (int64_t i = 0; i < rows * cols; ++i) {
    const bool keep = rng.uniform(2 * static_cast<uint64_t>(i)) >= sparsity;
    a[i] = keep ? rng.normal(2 * static_cast<uint64_t>(i) + 1) : 0.0f;
    if (zero_rows && (i / cols) % 5 == 2) a[i] = 0.0f;
  }
  return a;
}

std::vector<SparseIsa> isas() {
  std::vector<SparseIsa> r{SparseIsa::kScalar};
  if (best_sparse_isa() == SparseIsa::kAvx512) r.push_back(SparseIsa::kAvx512);
  return r;
}

TEST(SparseFormat, BytesFollowTheDocumentedFormulasAndMatchTheArrays) {
  for (auto [rows, cols] : {std::pair<int64_t, int64_t>{1, 1}, {7, 33}, {16, 16}, {37, 100}}) {
    for (double s : {0.0, 0.5, 0.9, 1.0}) {
      const std::vector<float> a = pruned(rows, cols, s, 11);
      int64_t nnz = 0;
      for (float v : a) nnz += v != 0.0f;
      for (SparseFormat f : kFormats) {
        const SparseMatrix m = encode_sparse(f, a.data(), rows, cols, cols);
        const std::string label = std::string(sparse_format_name(f)) + " " + std::to_string(rows) +
                                  "x" + std::to_string(cols) + " s=" + std::to_string(s);
        EXPECT_EQ(m.nnz, nnz) << label;
        // What the arrays hold, element by element.
        const int64_t held = 4 * static_cast<int64_t>(m.ptr.size() + m.col.size() + m.val.size()) +
                             2 * static_cast<int64_t>(m.mask.size());
        EXPECT_EQ(m.bytes(), held) << label;
        EXPECT_EQ(sparse_bytes(f, a.data(), rows, cols), held) << label;
        // The formulas with independently counted blocks.
        const int64_t chunks = (cols + 15) / 16;
        if (f == SparseFormat::kCsr) {
          EXPECT_EQ(held, 4 * (rows + 1) + 8 * nnz) << label;
        }
        if (f == SparseFormat::kBitmap) {
          EXPECT_EQ(held, 2 * rows * chunks + 4 * (rows + 1) + 4 * nnz) << label;
        }
        if (f == SparseFormat::kBcsr1x16 || f == SparseFormat::kBcsr4x16) {
          const int64_t r = f == SparseFormat::kBcsr4x16 ? 4 : 1;
          int64_t nb = 0;
          for (int64_t br = 0; br < (rows + r - 1) / r; ++br)
            for (int64_t bc = 0; bc < chunks; ++bc) {
              bool any = false;
              for (int64_t i = br * r; i < std::min(rows, br * r + r); ++i)
                for (int64_t j = bc * 16; j < std::min(cols, bc * 16 + 16); ++j)
                  any = any || a[i * cols + j] != 0.0f;
              nb += any;
            }
          EXPECT_EQ(held, 4 * ((rows + r - 1) / r + 1) + 4 * nb + 64 * r * nb) << label;
        }
        EXPECT_EQ(decode_sparse(m), a) << label;
      }
    }
  }
}

TEST(SparseFormat, EncodesFromAStridedMatrix) {
  const std::vector<float> a = pruned(9, 40, 0.7, 5);
  std::vector<float> dense;
  for (int64_t i = 0; i < 9; ++i)
    for (int64_t j = 0; j < 33; ++j) dense.push_back(a[i * 40 + j]);
  for (SparseFormat f : kFormats)
    EXPECT_EQ(decode_sparse(encode_sparse(f, a.data(), 9, 33, 40)), dense);
}

TEST(SparseFormat, SettingsParseAndBadOnesNameTheOption) {
  EXPECT_EQ(parse_sparse_setting("off").mode, SparseMode::kOff);
  EXPECT_EQ(parse_sparse_setting("auto").mode, SparseMode::kAuto);
  EXPECT_EQ(parse_sparse_setting("force").mode, SparseMode::kForce);
  const SparseSetting s = parse_sparse_setting("force:bcsr4x16");
  EXPECT_EQ(s.mode, SparseMode::kForce);
  ASSERT_TRUE(s.format.has_value());
  EXPECT_EQ(*s.format, SparseFormat::kBcsr4x16);
  EXPECT_EQ(sparse_setting_name(s), "force:bcsr4x16");
  try {
    parse_sparse_setting("sometimes", "--sparse");
    FAIL() << "accepted a bad mode";
  } catch (const UserError& e) {
    EXPECT_NE(std::string(e.what()).find("--sparse"), std::string::npos) << e.what();
  }
  EXPECT_THROW(parse_sparse_setting("force:coo"), UserError);
}

// C = A B + bias over rows [r0, r1), in double.
std::vector<double> reference(const std::vector<float>& a, int64_t cols_a, int64_t r0, int64_t r1,
                              const std::vector<float>& b, int64_t ldb, int64_t p,
                              const std::vector<float>& bias) {
  std::vector<double> c((r1 - r0) * p, 0.0);
  for (int64_t r = r0; r < r1; ++r)
    for (int64_t j = 0; j < p; ++j) {
      double s = bias.empty() ? 0.0 : bias[r];
      for (int64_t k = 0; k < cols_a; ++k)
        s += static_cast<double>(a[r * cols_a + k]) * b[k * ldb + j];
      c[(r - r0) * p + j] = s;
    }
  return c;
}

TEST(SparseMatmul, MatchesThePlainProductForEveryFormatIsaShapeAndSparsity) {
  struct Case {
    int64_t rows, k, p;
  };
  const Case cases[] = {{1, 1, 1},  {5, 7, 1},    {37, 100, 1}, {64, 257, 1}, {13, 31, 3},
                        {8, 16, 8}, {29, 45, 17}, {12, 70, 64}, {9, 19, 65},  {33, 144, 100}};
  int checked = 0;
  for (const Case& cs : cases)
    for (double s : {0.0, 0.5, 0.9, 0.99, 1.0})
      for (bool zero_rows : {false, true}) {
        const std::vector<float> a = pruned(cs.rows, cs.k, s, 21 + cs.rows, zero_rows);
        const int64_t ldb = cs.p + 3;  // B's rows padded: the kernels honour ldb
        std::vector<float> b(cs.k * ldb);
        Philox rng(77, 1);
        for (size_t i = 0; i < b.size(); ++i) b[i] = rng.normal(i);
        std::vector<float> bias(cs.rows);
        for (int64_t i = 0; i < cs.rows; ++i) bias[i] = 0.25f * static_cast<float>(i % 7) - 0.5f;
        for (SparseFormat f : kFormats) {
          const SparseMatrix m = encode_sparse(f, a.data(), cs.rows, cs.k, cs.k);
          for (SparseIsa isa : isas())
            for (bool with_bias : {false, true})
              for (bool contiguous : {true, false}) {
                // A row range that starts at a block-row boundary (bcsr4x16) and ends early.
                const int64_t r0 = cs.rows >= 8 ? 4 : 0;
                const int64_t r1 = cs.rows >= 8 ? cs.rows - 1 : cs.rows;
                const int64_t ld = contiguous ? cs.p : ldb;
                std::vector<float> bb(cs.k * ld);
                for (int64_t k = 0; k < cs.k; ++k)
                  for (int64_t j = 0; j < cs.p; ++j) bb[k * ld + j] = b[k * ldb + j];
                const int64_t ldc = cs.p + (contiguous ? 0 : 2);
                std::vector<float> c(cs.rows * ldc, NAN);
                const std::vector<float> no_bias;
                sparse_matmul(isa, m, r0, r1, bb.data(), ld, cs.p, c.data(), ldc,
                              with_bias ? bias.data() : nullptr);
                const std::vector<double> want =
                    reference(a, cs.k, r0, r1, bb, ld, cs.p, with_bias ? bias : no_bias);
                double scale = 1e-6;
                for (double w : want) scale = std::max(scale, std::fabs(w));
                for (int64_t r = r0; r < r1; ++r)
                  for (int64_t j = 0; j < cs.p; ++j)
                    ASSERT_NEAR(c[r * ldc + j], want[(r - r0) * cs.p + j], 1e-5 * scale)
                        << sparse_format_name(f) << " " << sparse_isa_name(isa) << " rows "
                        << cs.rows << " k " << cs.k << " p " << cs.p << " s " << s
                        << (zero_rows ? " zero rows" : "") << " at " << r << "," << j;
                // Rows outside the range are not written.
                for (int64_t r = 0; r < cs.rows; ++r) {
                  if (r >= r0 && r < r1) continue;
                  for (int64_t j = 0; j < cs.p; ++j) ASSERT_TRUE(std::isnan(c[r * ldc + j]));
                }
                ++checked;
              }
        }
      }
  EXPECT_GT(checked, 1000);
}

}  // namespace
}  // namespace frugal::kernels::cpu
