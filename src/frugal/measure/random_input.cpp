#include "frugal/measure/random_input.h"

#include <algorithm>
#include <set>
#include <type_traits>
#include <vector>

#include "frugal/core/rng.h"

namespace frugal::measure {
namespace {

// Operators that pass their input's values on unchanged (only the shape or type changes).
bool passes_values(const std::string& op) {
  static const std::set<std::string> ops{"Cast",    "Identity",  "Reshape",
                                         "Squeeze", "Unsqueeze", "Flatten"};
  return ops.count(op) != 0;
}

// Whether ONNX's TensorProto data type `to` is a floating-point one (FLOAT, DOUBLE, FLOAT16,
// BFLOAT16).
bool is_float(int64_t to) {
  return to == 1 || to == 11 || to == 10 || to == 16;
}

// The size of `value` along `axis` (negative counts from the end), or -1 when unknown.
int64_t dim_of(const ir::Graph& g, const std::string& value, int64_t axis) {
  Shape shape;
  if (const Tensor* t = g.initializer(value)) {
    shape = t->shape();
  } else {
    const ir::ValueInfo* v = g.find_input(value);
    if (!v && g.value_info.count(value)) v = &g.value_info.at(value);
    if (!v || !v->shape) return -1;
    for (const ir::Dim& d : *v->shape) shape.push_back(d.value);
  }
  const int64_t rank = static_cast<int64_t>(shape.size());
  if (axis < 0) axis += rank;
  if (axis < 0 || axis >= rank) return -1;
  return shape[static_cast<size_t>(axis)];
}

}  // namespace

Tensor random_tensor(DType dtype, const Shape& shape, uint64_t seed, int64_t int_limit) {
  Tensor t(dtype, shape);
  Philox rng(seed);
  const uint32_t limit = static_cast<uint32_t>(std::clamp<int64_t>(int_limit, 1, UINT32_MAX));
  visit_dtype(dtype, [&](auto tag) {
    using T = decltype(tag);
    T* d = t.data<T>();
    for (int64_t i = 0; i < t.numel(); ++i) {
      if constexpr (std::is_floating_point_v<T>)
        d[i] = static_cast<T>(rng.normal(i));
      else if constexpr (std::is_same_v<T, bool>)
        d[i] = rng.u32(i) & 1;
      else
        d[i] = static_cast<T>(rng.u32(i) % limit);
    }
  });
  return t;
}

int64_t random_int_limit(const ir::Graph& g, const std::string& input) {
  int64_t limit = -1;
  bool to_float = false;
  std::vector<std::string> values{input};  // the input and what passes it on
  for (size_t v = 0; v < values.size(); ++v) {
    for (const ir::Node& n : g.nodes) {
      if (!n.domain.empty() && n.domain != "ai.onnx") continue;
      for (size_t i = 0; i < n.inputs.size(); ++i) {
        if (n.inputs[i] != values[v]) continue;
        if (i == 0 && n.op_type == "Cast" && is_float(n.attr_int("to", 0))) {
          to_float = true;
        } else if (i == 0 && passes_values(n.op_type) && !n.outputs.empty()) {
          values.push_back(n.outputs[0]);
        } else if (i == 1 && n.op_type == "Gather") {
          const int64_t rows = dim_of(g, n.inputs[0], n.attr_int("axis", 0));
          if (rows > 0) limit = limit < 0 ? rows : std::min(limit, rows);
        }
      }
    }
  }
  if (limit > 0) return limit;
  return to_float ? 2 : kRandomIntLimit;
}

}  // namespace frugal::measure
