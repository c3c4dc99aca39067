#include "frugal/cli/tensor_io.h"

#include "frugal/core/npy.h"
#include "frugal/measure/random_input.h"

namespace frugal::cli {

void write_tensor_file(const std::string& path, const Tensor& t) {
  write_npy(path, t);
}

}  // namespace frugal::cli
