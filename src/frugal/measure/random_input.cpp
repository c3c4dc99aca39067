#include "frugal/measure/random_input.h"

#include <type_traits>

#include "frugal/core/rng.h"

namespace frugal::measure {

Tensor random_tensor(DType dtype, const Shape& shape, uint64_t seed) {
  Tensor t(dtype, shape);
  Philox rng(seed);
  visit_dtype(dtype, [&](auto tag) {
    using T = decltype(tag);
    T* d = t.data<T>();
    for (int64_t i = 0; i < t.numel(); ++i) {
      if constexpr (std::is_floating_point_v<T>)
        d[i] = static_cast<T>(rng.normal(i));
      else if constexpr (std::is_same_v<T, bool>)
        d[i] = rng.u32(i) & 1;
      else
        d[i] = static_cast<T>(rng.u32(i) % 10);
    }
  });
  return t;
}

}  // namespace frugal::measure
