// cuBLASLt entry points, opened with dlopen on first use. Linking libcublasLt (about
// 500 MB) would add a quarter of a second to the start of every process that links frugal,
// with or without a GPU; so the few functions used are looked up by name, their types
// taken from cublasLt.h.
#pragma once

#include <cublasLt.h>

namespace frugal::kernels::cuda {

struct LtApi {
  decltype(&cublasLtCreate) create;
  decltype(&cublasLtDestroy) destroy;
  decltype(&cublasLtGetVersion) version;
  decltype(&cublasLtMatmulDescCreate) desc_create;
  decltype(&cublasLtMatmulDescDestroy) desc_destroy;
  decltype(&cublasLtMatmulDescSetAttribute) desc_set;
  decltype(&cublasLtMatrixLayoutCreate) layout_create;
  decltype(&cublasLtMatrixLayoutDestroy) layout_destroy;
  decltype(&cublasLtMatmulPreferenceCreate) pref_create;
  decltype(&cublasLtMatmulPreferenceDestroy) pref_destroy;
  decltype(&cublasLtMatmulPreferenceSetAttribute) pref_set;
  decltype(&cublasLtMatmulAlgoGetHeuristic) heuristic;
  decltype(&cublasLtMatmul) matmul;
};

// Loads libcublasLt once; throws UserError naming the library and dlerror() when absent.
const LtApi& lt();
// Whether it has been loaded (versions are reported only then).
bool lt_loaded();

// One matmul's cuBLASLt descriptors (operation, the layouts of its first and second
// operands and of D, the algorithm preference), destroyed together, also when a kernel
// declines half-way through describing them.
struct LtMatmul {
  cublasLtMatmulDesc_t desc = nullptr;
  cublasLtMatrixLayout_t first = nullptr, second = nullptr, d = nullptr;
  cublasLtMatmulPreference_t pref = nullptr;
  LtMatmul() = default;
  ~LtMatmul();
  LtMatmul(const LtMatmul&) = delete;
  LtMatmul& operator=(const LtMatmul&) = delete;
  // cublasLtMatmulDescSetAttribute on desc; throws InternalError on failure.
  void set(cublasLtMatmulDescAttributes_t attr, const void* value, size_t bytes) const;
  // The heuristic's best algorithm for the descriptors (made before) with at most
  // `workspace` bytes of workspace and every operand aligned to `alignment` bytes (0:
  // cuBLASLt's default, 256); false when it has none.
  bool choose(cublasLtHandle_t handle, uint64_t workspace, uint32_t alignment,
              cublasLtMatmulHeuristicResult_t& algo);
};

}  // namespace frugal::kernels::cuda
