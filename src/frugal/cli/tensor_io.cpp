#include "frugal/cli/tensor_io.h"

#include "frugal/core/npy.h"
#include "frugal/measure/random_input.h"

namespace frugal::cli {

Tensor make_input(const std::string& spec, const runtime::Session::Port& port) {
  if (spec == "random" || spec.rfind("random:", 0) == 0) {
    uint64_t seed = 0;
    if (spec.size() > 7) {
      char* end = nullptr;
      seed = std::strtoull(spec.c_str() + 7, &end, 10);
      if (*end) throw UserError("--input: '" + spec + "' is not random[:SEED]");
    }
    return measure::random_tensor(port.dtype, port.shape, seed);
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

void write_tensor_file(const std::string& path, const Tensor& t) {
  write_npy(path, t);
}

}  // namespace frugal::cli
