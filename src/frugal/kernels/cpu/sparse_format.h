// Sparse storage of a constant weight matrix for the cpu backend's sparse kernels, and the
// chooser that picks a format (or dense oneDNN) per layer.
//
// The matrix is A [rows x cols]: one row per output (Gemm/MatMul's N, Conv's output
// channels), one column per reduction index (K; C/group * kh * kw for Conv). Three formats,
// each with its exact storage size (int32 indices, float32 values, nnz = non-zero count):
//
//   csr        row_ptr[rows + 1], col[nnz], val[nnz]
//              bytes = 4 (rows + 1) + 8 nnz
//   bcsrRx16   blocks of R rows x 16 consecutive columns (one AVX-512 vector of fp32),
//              aligned to multiples of 16 columns; a block is stored when any of its
//              entries is non-zero, zeros inside it included (R = 1 or 4):
//              block_ptr[ceil(rows / R) + 1], block_col[nb], val[nb * R * 16]
//              bytes = 4 (ceil(rows / R) + 1) + 4 nb + 64 R nb
//   bitmap     one 16-bit mask per row and 16-column chunk (bit j: column 16 c + j is
//              non-zero), the non-zeros of each row packed in column order:
//              mask[rows * ceil(cols / 16)], row_ptr[rows + 1], val[nnz]
//              bytes = 2 rows ceil(cols / 16) + 4 (rows + 1) + 4 nnz
//
// An entry counts as zero when it compares equal to 0.0f (so -0.0f too), which is what a
// pruned model exported as dense-with-zeros holds.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace frugal::kernels::cpu {

enum class SparseMode { kOff, kAuto, kForce };
enum class SparseFormat { kCsr, kBcsr1x16, kBcsr4x16, kBitmap };
const char* sparse_format_name(SparseFormat f);  // "csr", "bcsr1x16", "bcsr4x16", "bitmap"

// The backend's setting: "off" | "auto" | "force" | "force:FORMAT" (that format wherever a
// sparse kernel exists, for benchmarks and tests).
struct SparseSetting {
  SparseMode mode = SparseMode::kOff;
  std::optional<SparseFormat> format;  // with kForce: only this one
};
// Throws UserError naming `option` for anything else.
SparseSetting parse_sparse_setting(const std::string& text, const std::string& option = "--sparse");
std::string sparse_setting_name(const SparseSetting& s);

struct SparseMatrix {
  SparseFormat format = SparseFormat::kCsr;
  int64_t rows = 0, cols = 0;
  int64_t nnz = 0;             // non-zero entries of the dense matrix
  int block_rows = 1;          // R of bcsr (1 for the other formats)
  std::vector<int32_t> ptr;    // csr/bitmap: row_ptr into val; bcsr: block_ptr per block row
  std::vector<int32_t> col;    // csr: column per value; bcsr: first column per block
  std::vector<uint16_t> mask;  // bitmap: rows x chunks
  std::vector<float> val;
  int64_t chunks() const { return (cols + 15) / 16; }
  int64_t blocks() const { return static_cast<int64_t>(col.size()); }  // bcsr
  // Exact storage bytes of the arrays above (the formulas in this file's header).
  int64_t bytes() const;
};

// Non-zero count of a dense row-major rows x cols matrix.
int64_t count_nonzeros(const float* dense, int64_t rows, int64_t cols);
// Storage bytes of `format` for a matrix, from the formulas (without building it).
int64_t sparse_bytes(SparseFormat format, const float* dense, int64_t rows, int64_t cols);
// Encodes a dense row-major rows x cols matrix (row stride `ld`, >= cols).
SparseMatrix encode_sparse(SparseFormat format, const float* dense, int64_t rows, int64_t cols,
                           int64_t ld);
// The dense matrix back (for tests): rows x cols, row-major.
std::vector<float> decode_sparse(const SparseMatrix& m);

// The chooser's view of one layer: the weight matrix, and the number of activation
// columns each product has (P: the batch M for Gemm/MatMul, OH * OW for Conv) and how many
// such products one run does (images x groups for Conv).
struct SparseLayer {
  const float* dense = nullptr;
  int64_t rows = 0, cols = 0;
  int64_t columns = 1;     // P
  int64_t products = 1;    // independent products per run
  int64_t group_rows = 0;  // rows per group (Conv); 0: all rows
  bool im2col = false;     // the kernel must unfold its input first (not a 1x1 conv)
  // Activation elements per product that the sparse kernel reads and writes in plain
  // layout where a dense oneDNN convolution and its neighbours would keep them blocked
  // (nChw16c): the reorders the sparse kernel brings (Conv only).
  int64_t boundary = 0;
  int threads = 1;
};

struct SparseChoice {
  std::optional<SparseFormat> format;  // nullopt: dense
  double sparsity = 0;                 // of the weights
  double predicted_ratio = 1;          // predicted sparse time / dense time (format chosen)
  std::string reason;                  // one line: why this choice
  bool kept_dense = false;             // auto: a sparse format exists but dense is predicted faster
};

// Picks a format for `layer`: off -> dense; force -> the format with the lowest predicted
// time (force:F -> F); auto -> that format when the cost model predicts it faster than
// dense oneDNN, else dense. The cost model's constants were measured on this project's
// development machine (bench/sparse, docs/sparse.md).
SparseChoice choose_sparse(const SparseLayer& layer, const SparseSetting& setting);

}  // namespace frugal::kernels::cpu
