#include "frugal/kernels/cuda/cublaslt_api.h"

#include <dlfcn.h>

#include <atomic>
#include <mutex>
#include <string>

#include "frugal/core/error.h"

namespace frugal::kernels::cuda {
namespace {

std::atomic<bool> loaded{false};

template <typename Fn>
void bind(void* lib, const char* name, Fn& fn) {
  fn = reinterpret_cast<Fn>(dlsym(lib, name));
  if (!fn) throw UserError(std::string("cuda: libcublasLt has no ") + name);
}

LtApi load() {
  // By soname (library path, the executable's run path), then in the toolkit frugal was
  // built with (FRUGAL_CUDA_LIBRARY_DIR, cuda.cmake).
  void* lib = nullptr;
  std::string why;
  for (const char* name : {"libcublasLt.so.13", FRUGAL_CUDA_LIBRARY_DIR "/libcublasLt.so.13",
                           FRUGAL_CUDA_LIBRARY_DIR "/libcublasLt.so"}) {
    lib = dlopen(name, RTLD_NOW | RTLD_LOCAL);
    if (lib) break;
    why = dlerror();
  }
  if (!lib) throw UserError("cuda: cannot load cuBLASLt (" + why + ")");
  LtApi a{};
  bind(lib, "cublasLtCreate", a.create);
  bind(lib, "cublasLtDestroy", a.destroy);
  bind(lib, "cublasLtGetVersion", a.version);
  bind(lib, "cublasLtMatmulDescCreate", a.desc_create);
  bind(lib, "cublasLtMatmulDescDestroy", a.desc_destroy);
  bind(lib, "cublasLtMatmulDescSetAttribute", a.desc_set);
  bind(lib, "cublasLtMatrixLayoutCreate", a.layout_create);
  bind(lib, "cublasLtMatrixLayoutDestroy", a.layout_destroy);
  bind(lib, "cublasLtMatmulPreferenceCreate", a.pref_create);
  bind(lib, "cublasLtMatmulPreferenceDestroy", a.pref_destroy);
  bind(lib, "cublasLtMatmulPreferenceSetAttribute", a.pref_set);
  bind(lib, "cublasLtMatmulAlgoGetHeuristic", a.heuristic);
  bind(lib, "cublasLtMatmul", a.matmul);
  loaded = true;
  return a;
}

}  // namespace

const LtApi& lt() {
  static const LtApi api = load();
  return api;
}

LtMatmul::~LtMatmul() {
  if (!desc && !first && !second && !d && !pref) return;
  const LtApi& api = lt();
  if (pref) api.pref_destroy(pref);
  for (auto* l : {first, second, d})
    if (l) api.layout_destroy(l);
  if (desc) api.desc_destroy(desc);
}

void LtMatmul::set(cublasLtMatmulDescAttributes_t attr, const void* value, size_t bytes) const {
  const cublasStatus_t s = lt().desc_set(desc, attr, value, bytes);
  if (s != CUBLAS_STATUS_SUCCESS)
    throw InternalError("cuda: cublasLtMatmulDescSetAttribute: cuBLAS status " + std::to_string(s));
}

bool LtMatmul::choose(cublasLtHandle_t handle, uint64_t workspace, uint32_t alignment,
                      cublasLtMatmulHeuristicResult_t& algo) {
  const LtApi& api = lt();
  auto ok = [](cublasStatus_t s, const char* call) {
    if (s != CUBLAS_STATUS_SUCCESS)
      throw InternalError(std::string("cuda: ") + call + ": cuBLAS status " + std::to_string(s));
  };
  if (!pref) ok(api.pref_create(&pref), "cublasLtMatmulPreferenceCreate");
  ok(api.pref_set(pref, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, &workspace, sizeof(workspace)),
     "cublasLtMatmulPreferenceSetAttribute");
  if (alignment > 0)
    for (auto attr :
         {CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_A_BYTES, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_B_BYTES,
          CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_C_BYTES, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_D_BYTES})
      ok(api.pref_set(pref, attr, &alignment, sizeof(alignment)),
         "cublasLtMatmulPreferenceSetAttribute");
  int returned = 0;
  const cublasStatus_t st =
      api.heuristic(handle, desc, first, second, d, d, pref, 1, &algo, &returned);
  return st == CUBLAS_STATUS_SUCCESS && returned > 0;
}

bool lt_loaded() {
  return loaded;
}

}  // namespace frugal::kernels::cuda
