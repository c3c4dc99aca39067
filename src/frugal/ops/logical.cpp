// Logical operators on bool tensors: Not, and the broadcasting And, Or, Xor.
#include "frugal/ops/elementwise.h"

namespace frugal::ops {
namespace {

using namespace elementwise;

struct NotOp {
  static constexpr unsigned kTypes = kBoolType;
  bool operator()(bool x) const { return !x; }
};
struct AndOp {
  static constexpr unsigned kTypes = kBoolType;
  bool operator()(bool a, bool b) const { return a && b; }
};
struct OrOp {
  static constexpr unsigned kTypes = kBoolType;
  bool operator()(bool a, bool b) const { return a || b; }
};
struct XorOp {
  static constexpr unsigned kTypes = kBoolType;
  bool operator()(bool a, bool b) const { return a != b; }
};

}  // namespace

FRUGAL_REGISTER_OP(Not, unary_def<NotOp>("Not"));
FRUGAL_REGISTER_OP(And, binary_def<AndOp>("And"));
FRUGAL_REGISTER_OP(Or, binary_def<OrOp>("Or"));
FRUGAL_REGISTER_OP(Xor, binary_def<XorOp>("Xor"));

}  // namespace frugal::ops
