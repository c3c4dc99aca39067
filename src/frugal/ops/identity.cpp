// Identity and Dropout (inference: a copy; Dropout's optional mask output is all true).
#include <cstring>

#include "frugal/ops/op.h"

namespace frugal::ops {
namespace {

void infer_identity(InferContext& ctx) {
  // Dropout with training_mode=true is random and not an inference op.
  if (ctx.node().op_type == "Dropout" && ctx.has_input(2)) {
    const Tensor& mode = ctx.require_value(2);
    if (mode.numel() != 1) ctx.fail("training_mode must be a scalar");
    if (mode.at_double(0) != 0) ctx.unsupported("training_mode=true (random dropout) is not supported");
  }
  if (const Tensor* v = ctx.value(0)) {
    ctx.set_output_value(0, *v);
  } else {
    ctx.set_output(0, ctx.dtype(0), ctx.shape(0));
  }
  if (ctx.num_outputs() > 1) ctx.set_output(1, DType::kBool, ctx.shape(0));  // Dropout mask
}

void ref_identity(KernelContext& ctx) {
  const Tensor& x = ctx.input(0);
  Tensor& y = ctx.output(0);
  if (x.nbytes()) std::memcpy(y.raw(), x.raw(), x.nbytes());
  if (ctx.has_output(1)) {
    bool* m = ctx.output(1).data<bool>();
    for (int64_t i = 0; i < ctx.output(1).numel(); ++i) m[i] = true;
  }
}

Work no_work(const CostContext&) { return {}; }

}  // namespace

FRUGAL_REGISTER_OP(Identity, OpDef{.op_type = "Identity", .infer = infer_identity,
                                   .ref = ref_identity, .cost = no_work});
// Dropout in inference mode (training_mode false): ratio and training_mode inputs ignored.
FRUGAL_REGISTER_OP(Dropout, OpDef{.op_type = "Dropout", .max_inputs = 3, .max_outputs = 2,
                                  .infer = infer_identity, .ref = ref_identity,
                                  .cost = no_work});

}  // namespace frugal::ops
