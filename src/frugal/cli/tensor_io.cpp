#include "frugal/cli/tensor_io.h"

#include "frugal/core/npy.h"
#include "frugal/core/rng.h"

namespace frugal::cli {

Tensor make_input(const std::string& spec, const runtime::Session::Port& port) {
  if (spec == "random" || spec.rfind("random:", 0) == 0) {
    uint64_t seed = 0;
    if (spec.size() > 7) {
      char* end = nullptr;
      seed = std::strtoull(spec.c_str() + 7, &end, 10);
      if (*end) throw UserError("--input: '" + spec + "' is not random[:SEED]");
    }
    Tensor t(port.dtype, port.shape);
    Philox rng(seed);
    visit_dtype(port.dtype, [&](auto tag) {
      using T = decltype(tag);
      T* d = t.data<T>();
      for (int64_t i = 0; i < t.numel(); ++i) {
        if constexpr (std::is_floating_point_v<T>) d[i] = static_cast<T>(rng.normal(i));
        else if constexpr (std::is_same_v<T, bool>) d[i] = rng.u32(i) & 1;
        else d[i] = static_cast<T>(rng.u32(i) % 10);
      }
    });
    return t;
  }
  Tensor t = read_npy(spec);
  if (t.dtype() != port.dtype)
    throw UserError(spec + ": dtype " + std::string(dtype_name(t.dtype())) + " but input '" +
                    port.name + "' expects " + std::string(dtype_name(port.dtype)));
  if (t.shape() != port.shape)
    throw UserError(spec + ": shape " + shape_str(t.shape()) + " but input '" + port.name +
                    "' expects " + shape_str(port.shape) + " (see --batch / --shape)");
  return t;
}

void write_tensor_file(const std::string& path, const Tensor& t) { write_npy(path, t); }

}  // namespace frugal::cli
