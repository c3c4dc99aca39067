// Broadcasting comparisons with a bool output: Equal, Less, Greater, LessOrEqual,
// GreaterOrEqual. NaN compares unequal and unordered, as in IEEE.
#include "frugal/ops/elementwise.h"

namespace frugal::ops {
namespace {

using namespace elementwise;

struct EqualOp {
  static constexpr unsigned kTypes = kAllTypes;
  template <typename T>
  bool operator()(T a, T b) const {
    return a == b;
  }
};
struct LessOp {
  static constexpr unsigned kTypes = kNumericTypes;
  template <typename T>
  bool operator()(T a, T b) const {
    return a < b;
  }
};
struct GreaterOp {
  static constexpr unsigned kTypes = kNumericTypes;
  template <typename T>
  bool operator()(T a, T b) const {
    return a > b;
  }
};
struct LessOrEqualOp {
  static constexpr unsigned kTypes = kNumericTypes;
  template <typename T>
  bool operator()(T a, T b) const {
    return a <= b;
  }
};
struct GreaterOrEqualOp {
  static constexpr unsigned kTypes = kNumericTypes;
  template <typename T>
  bool operator()(T a, T b) const {
    return a >= b;
  }
};

}  // namespace

FRUGAL_REGISTER_OP(Equal, binary_def<EqualOp>("Equal"));
FRUGAL_REGISTER_OP(Less, binary_def<LessOp>("Less"));
FRUGAL_REGISTER_OP(Greater, binary_def<GreaterOp>("Greater"));
FRUGAL_REGISTER_OP(LessOrEqual, binary_def<LessOrEqualOp>("LessOrEqual"));
FRUGAL_REGISTER_OP(GreaterOrEqual, binary_def<GreaterOrEqualOp>("GreaterOrEqual"));

}  // namespace frugal::ops
