#include "frugal/kernels/cpu/threads.h"

#include <dlfcn.h>

#include <string>

#include "frugal/core/error.h"
#include "frugal/kernels/threads.h"

namespace frugal::kernels::cpu {
namespace {

// The OpenMP runtime is the one libdnnl was built against and is loaded with it. It is
// looked up at run time so that frugal itself need not be compiled with -fopenmp.
template <typename Fn>
Fn openmp_symbol(const char* name) {
  void* sym = dlsym(RTLD_DEFAULT, name);
  if (!sym) throw InternalError(std::string("OpenMP runtime not loaded: no symbol ") + name);
  return reinterpret_cast<Fn>(sym);
}

}  // namespace

void set_num_threads(int n) {
  if (n < 1) throw UserError("--threads: " + std::to_string(n) + " must be at least 1");
  static const auto set = openmp_symbol<void (*)(int)>("omp_set_num_threads");
  set(n);
}

int num_threads() {
  static const auto get = openmp_symbol<int (*)()>("omp_get_max_threads");
  return get();
}

FRUGAL_REGISTER_THREAD_CONTROL(cpu, "cpu", (ThreadControl{set_num_threads, num_threads}));

}  // namespace frugal::kernels::cpu
