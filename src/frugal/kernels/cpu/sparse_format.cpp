#include "frugal/kernels/cpu/sparse_format.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>

#include "frugal/core/error.h"

namespace frugal::kernels::cpu {

SparseSetting parse_sparse_setting(const std::string& text, const std::string& option) {
  if (text == "off") return {SparseMode::kOff, std::nullopt};
  if (text == "auto") return {SparseMode::kAuto, std::nullopt};
  if (text == "force") return {SparseMode::kForce, std::nullopt};
  if (text.rfind("force:", 0) == 0) {
    for (SparseFormat f : {SparseFormat::kCsr, SparseFormat::kBcsr1x16, SparseFormat::kBcsr4x16,
                           SparseFormat::kBitmap})
      if (text.substr(6) == sparse_format_name(f)) return {SparseMode::kForce, f};
    throw UserError(option + ": unknown sparse format '" + text.substr(6) +
                    "' (csr, bcsr1x16, bcsr4x16, bitmap)");
  }
  throw UserError(option + ": '" + text +
                  "' is not a sparse mode (off, auto, force, force:FORMAT)");
}

std::string sparse_setting_name(const SparseSetting& s) {
  switch (s.mode) {
    case SparseMode::kOff:
      return "off";
    case SparseMode::kAuto:
      return "auto";
    case SparseMode::kForce:
      return s.format ? std::string("force:") + sparse_format_name(*s.format) : "force";
  }
  return "?";
}

const char* sparse_format_name(SparseFormat f) {
  switch (f) {
    case SparseFormat::kCsr:
      return "csr";
    case SparseFormat::kBcsr1x16:
      return "bcsr1x16";
    case SparseFormat::kBcsr4x16:
      return "bcsr4x16";
    case SparseFormat::kBitmap:
      return "bitmap";
  }
  return "?";
}

namespace {

int block_rows_of(SparseFormat f) {
  return f == SparseFormat::kBcsr4x16 ? 4 : 1;
}
bool is_bcsr(SparseFormat f) {
  return f == SparseFormat::kBcsr1x16 || f == SparseFormat::kBcsr4x16;
}

// Number of R x 16 blocks (aligned) holding a non-zero.
int64_t count_blocks(const float* a, int64_t rows, int64_t cols, int64_t ld, int r) {
  int64_t nb = 0;
  for (int64_t r0 = 0; r0 < rows; r0 += r)
    for (int64_t c0 = 0; c0 < cols; c0 += 16) {
      bool any = false;
      for (int64_t i = r0; i < std::min(rows, r0 + r) && !any; ++i)
        for (int64_t j = c0; j < std::min(cols, c0 + 16); ++j)
          if (a[i * ld + j] != 0.0f) {
            any = true;
            break;
          }
      nb += any;
    }
  return nb;
}

int64_t bytes_of(SparseFormat f, int64_t rows, int64_t cols, int64_t nnz, int64_t nb) {
  const int64_t chunks = (cols + 15) / 16;
  switch (f) {
    case SparseFormat::kCsr:
      return 4 * (rows + 1) + 8 * nnz;
    case SparseFormat::kBcsr1x16:
    case SparseFormat::kBcsr4x16: {
      const int r = block_rows_of(f);
      return 4 * ((rows + r - 1) / r + 1) + 4 * nb + 64 * r * nb;
    }
    case SparseFormat::kBitmap:
      return 2 * rows * chunks + 4 * (rows + 1) + 4 * nnz;
  }
  return 0;
}

}  // namespace

int64_t SparseMatrix::bytes() const {
  return bytes_of(format, rows, cols, nnz, blocks());
}

int64_t count_nonzeros(const float* dense, int64_t rows, int64_t cols) {
  int64_t n = 0;
  for (int64_t i = 0; i < rows * cols; ++i) n += dense[i] != 0.0f;
  return n;
}

int64_t sparse_bytes(SparseFormat format, const float* dense, int64_t rows, int64_t cols) {
  const int64_t nb =
      is_bcsr(format) ? count_blocks(dense, rows, cols, cols, block_rows_of(format)) : 0;
  return bytes_of(format, rows, cols, count_nonzeros(dense, rows, cols), nb);
}

SparseMatrix encode_sparse(SparseFormat format, const float* a, int64_t rows, int64_t cols,
                           int64_t ld) {
  if (rows < 0 || cols < 0 || ld < cols) throw InternalError("encode_sparse: bad matrix geometry");
  // int32 indices: the values (nnz, or blocks x 64 R) must stay below 2^31.
  if (rows * cols >= std::numeric_limits<int32_t>::max() / 4)
    throw UnsupportedError("sparse weights of " + std::to_string(rows) + " x " +
                           std::to_string(cols) +
                           " exceed the int32 indices of the sparse formats");
  SparseMatrix m;
  m.format = format;
  m.rows = rows;
  m.cols = cols;
  m.block_rows = block_rows_of(format);
  for (int64_t i = 0; i < rows; ++i)
    for (int64_t j = 0; j < cols; ++j) m.nnz += a[i * ld + j] != 0.0f;

  switch (format) {
    case SparseFormat::kCsr:
      m.ptr.reserve(rows + 1);
      m.col.reserve(m.nnz);
      m.val.reserve(m.nnz);
      m.ptr.push_back(0);
      for (int64_t i = 0; i < rows; ++i) {
        for (int64_t j = 0; j < cols; ++j)
          if (a[i * ld + j] != 0.0f) {
            m.col.push_back(static_cast<int32_t>(j));
            m.val.push_back(a[i * ld + j]);
          }
        m.ptr.push_back(static_cast<int32_t>(m.val.size()));
      }
      break;
    case SparseFormat::kBcsr1x16:
    case SparseFormat::kBcsr4x16: {
      const int r = m.block_rows;
      m.ptr.push_back(0);
      for (int64_t r0 = 0; r0 < rows; r0 += r) {
        for (int64_t c0 = 0; c0 < cols; c0 += 16) {
          bool any = false;
          for (int64_t i = r0; i < std::min(rows, r0 + r); ++i)
            for (int64_t j = c0; j < std::min(cols, c0 + 16); ++j) any |= a[i * ld + j] != 0.0f;
          if (!any) continue;
          m.col.push_back(static_cast<int32_t>(c0));
          for (int64_t i = r0; i < r0 + r; ++i)
            for (int64_t j = c0; j < c0 + 16; ++j)
              m.val.push_back(i < rows && j < cols ? a[i * ld + j] : 0.0f);
        }
        m.ptr.push_back(static_cast<int32_t>(m.col.size()));
      }
      break;
    }
    case SparseFormat::kBitmap: {
      const int64_t chunks = m.chunks();
      m.mask.assign(rows * chunks, 0);
      m.val.reserve(m.nnz);
      m.ptr.push_back(0);
      for (int64_t i = 0; i < rows; ++i) {
        for (int64_t j = 0; j < cols; ++j)
          if (a[i * ld + j] != 0.0f) {
            m.mask[i * chunks + j / 16] |= static_cast<uint16_t>(1u << (j % 16));
            m.val.push_back(a[i * ld + j]);
          }
        m.ptr.push_back(static_cast<int32_t>(m.val.size()));
      }
      break;
    }
  }
  return m;
}

std::vector<float> decode_sparse(const SparseMatrix& m) {
  std::vector<float> d(m.rows * m.cols, 0.0f);
  switch (m.format) {
    case SparseFormat::kCsr:
      for (int64_t i = 0; i < m.rows; ++i)
        for (int32_t p = m.ptr[i]; p < m.ptr[i + 1]; ++p) d[i * m.cols + m.col[p]] = m.val[p];
      break;
    case SparseFormat::kBcsr1x16:
    case SparseFormat::kBcsr4x16: {
      const int r = m.block_rows;
      for (int64_t br = 0; br + 1 < static_cast<int64_t>(m.ptr.size()); ++br)
        for (int32_t b = m.ptr[br]; b < m.ptr[br + 1]; ++b)
          for (int i = 0; i < r; ++i)
            for (int j = 0; j < 16; ++j) {
              const int64_t row = br * r + i, c = m.col[b] + j;
              const float v = m.val[(static_cast<int64_t>(b) * r + i) * 16 + j];
              if (row < m.rows && c < m.cols) d[row * m.cols + c] = v;
            }
      break;
    }
    case SparseFormat::kBitmap: {
      const int64_t chunks = m.chunks();
      for (int64_t i = 0; i < m.rows; ++i) {
        int64_t p = m.ptr[i];
        for (int64_t c = 0; c < chunks; ++c)
          for (int j = 0; j < 16; ++j)
            if (m.mask[i * chunks + c] & (1u << j)) d[i * m.cols + c * 16 + j] = m.val[p++];
      }
      break;
    }
  }
  return d;
}

// ---- the chooser ----

namespace {

// Cost model, nanoseconds on one thread (both sides scale about alike with threads),
// fitted to `bench_sparse_latency calibrate` on the development machine (AMD EPYC with
// AVX-512, 2 cores shared with other jobs; docs/sparse.md has the table). Three regimes of
// P, the activation columns: 1 (matrix-vector), 2..16 (one vector per non-zero), more.
struct CostModel {
  // Dense oneDNN per multiply-add, weights within / beyond 2 MB (caches).
  double dense_mv_cached, dense_mv, dense_narrow_cached, dense_narrow, dense_wide;
  // Sparse per stored unit (value for csr/bitmap, block entry for bcsr), indexed by
  // SparseFormat; `wide` per unit and 16-column vector.
  double mv[4], narrow[4], wide[4];
  double chunk_mv, chunk;  // bitmap's mask walk, per row and 16-column chunk (and 64-col tile)
  double unfold;           // im2col, per element written
  double reorder;          // per boundary element (SparseLayer::boundary)
  double fixed;            // per product (set-up)
};
constexpr CostModel kModel{/*dense_mv_cached=*/0.06, /*dense_mv=*/0.25,
                           /*dense_narrow_cached=*/0.015,
                           /*dense_narrow=*/0.055, /*dense_wide=*/0.011,
                           //       csr   bcsr1x16 bcsr4x16 bitmap
                           /*mv=*/{0.42, 0.35, 0.27, 0.42},
                           /*narrow=*/{1.0, 2.7, 1.2, 1.0},
                           /*wide=*/{0.40, 0.35, 0.20, 0.40},
                           /*chunk_mv=*/2.8, /*chunk=*/1.5, /*unfold=*/0.5,
                           /*reorder=*/0.3, /*fixed=*/1500.0};
// A product whose sparse arrays exceed 2 MB streams them from memory: its per-unit cost
// grows by these factors (P = 1: csr at 50 % sparsity on 9216 x 4096 ran at about 1.2 ns
// per value against 0.42 at 90 %; P = 8: csr at 75 % on it about 2.1 ns against 1.0 on
// layers that fit).
constexpr double kSpillMv = 1.5, kSpillNarrow = 2.0;

int index_of(SparseFormat f) {
  return static_cast<int>(f);
}

struct Prediction {
  double dense_ns = 0;
  double sparse_ns = 0;
};

Prediction predict(const SparseLayer& l, SparseFormat f, int64_t nnz, int64_t blocks) {
  const CostModel& m = kModel;
  const double p = static_cast<double>(l.columns);
  // One product covers one group's rows.
  const double groups =
      l.group_rows > 0 ? static_cast<double>(l.rows) / static_cast<double>(l.group_rows) : 1.0;
  const double rows = static_cast<double>(l.rows) / groups, cols = static_cast<double>(l.cols);
  const double macs = rows * cols * p;
  const bool cached = rows * cols * 4.0 <= 2.0 * 1024 * 1024;
  const double per_mac = l.columns == 1    ? (cached ? m.dense_mv_cached : m.dense_mv)
                         : l.columns <= 16 ? (cached ? m.dense_narrow_cached : m.dense_narrow)
                                           : m.dense_wide;
  Prediction r;
  r.dense_ns = static_cast<double>(l.products) * (macs * per_mac + m.fixed);
  double units = f == SparseFormat::kBcsr1x16   ? 16.0 * static_cast<double>(blocks)
                 : f == SparseFormat::kBcsr4x16 ? 64.0 * static_cast<double>(blocks)
                                                : static_cast<double>(nnz);
  units /= groups;
  const int i = index_of(f);
  const double chunks = rows * std::ceil(cols / 16.0);
  const bool spills = units * (f == SparseFormat::kCsr ? 8.0 : 4.0) > 2.0 * 1024 * 1024;
  double one = 0;
  if (l.columns == 1) {
    one = units * m.mv[i] * (spills ? kSpillMv : 1.0) +
          (f == SparseFormat::kBitmap ? chunks * m.chunk_mv : 0.0);
  } else if (l.columns <= 16) {
    one = units * m.narrow[i] * (spills ? kSpillNarrow : 1.0) +
          (f == SparseFormat::kBitmap ? chunks * m.chunk : 0.0);
  } else {
    one = units * std::ceil(p / 16.0) * m.wide[i] +
          (f == SparseFormat::kBitmap ? chunks * std::ceil(p / 64.0) * m.chunk : 0.0);
  }
  // A product over a group's rows unfolds that group's input once.
  if (l.im2col) one += cols * p * m.unfold;
  one += static_cast<double>(l.boundary) * m.reorder;
  r.sparse_ns = static_cast<double>(l.products) * (one + m.fixed);
  return r;
}

std::string fixed2(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2f", v);
  return buf;
}

}  // namespace

SparseChoice choose_sparse(const SparseLayer& l, const SparseSetting& setting) {
  SparseChoice c;
  const int64_t total = l.rows * l.cols;
  const int64_t nnz = count_nonzeros(l.dense, l.rows, l.cols);
  c.sparsity = total > 0 ? 1.0 - static_cast<double>(nnz) / static_cast<double>(total) : 0.0;
  if (setting.mode == SparseMode::kOff) {
    c.reason = "sparse off";
    return c;
  }
  const int64_t group_rows = l.group_rows > 0 ? l.group_rows : l.rows;
  std::vector<SparseFormat> candidates;
  for (SparseFormat f : {SparseFormat::kCsr, SparseFormat::kBitmap, SparseFormat::kBcsr1x16,
                         SparseFormat::kBcsr4x16}) {
    if (setting.format && f != *setting.format) continue;
    // A 4-row block must not straddle two groups.
    if (f == SparseFormat::kBcsr4x16 && group_rows % 4 != 0 && group_rows != l.rows) continue;
    candidates.push_back(f);
  }
  if (candidates.empty()) {
    c.reason = std::string(sparse_format_name(*setting.format)) + " needs groups of 4k rows";
    return c;
  }
  double best = 0;
  Prediction best_p;
  for (SparseFormat f : candidates) {
    int64_t blocks = 0;
    if (f == SparseFormat::kBcsr1x16 || f == SparseFormat::kBcsr4x16)
      blocks = count_blocks(l.dense, l.rows, l.cols, l.cols, block_rows_of(f));
    const Prediction p = predict(l, f, nnz, blocks);
    if (!c.format || p.sparse_ns < best) {
      c.format = f;
      best = p.sparse_ns;
      best_p = p;
    }
  }
  c.predicted_ratio = best_p.dense_ns > 0 ? best_p.sparse_ns / best_p.dense_ns : 1.0;
  const std::string name = sparse_format_name(*c.format);
  if (setting.mode == SparseMode::kForce) {
    c.reason = "forced; model: " + name + " " + fixed2(c.predicted_ratio) + "x dense time";
    return c;
  }
  if (c.predicted_ratio >= 1.0) {
    c.reason = "auto: dense kept at sparsity " + fixed2(c.sparsity) + ", best sparse (" + name +
               ") predicted " + fixed2(c.predicted_ratio) + "x dense time";
    c.format.reset();
    c.kept_dense = true;
    return c;
  }
  c.reason = "auto: predicted " + fixed2(c.predicted_ratio) + "x dense time";
  return c;
}

}  // namespace frugal::kernels::cpu
