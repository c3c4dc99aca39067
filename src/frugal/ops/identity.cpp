// Identity and Dropout (a copy in inference, and in training with ratio 0; Dropout's
// optional mask output is all true).
#include <cstring>
#include <sstream>

#include "frugal/ops/dropout.h"
#include "frugal/ops/op.h"

namespace frugal::ops {
namespace {

// Dropout with training_mode=true and a ratio above 0 is random: not an inference op.
void check_dropout_copies(const InferContext& ctx) {
  if (!ctx.has_input(2)) return;
  const Tensor& mode = ctx.require_value(2);
  if (mode.numel() != 1) ctx.fail("training_mode must be a scalar");
  const Tensor* ratio = ctx.has_input(1) ? &ctx.require_value(1) : nullptr;
  if (ratio && ratio->numel() != 1) ctx.fail("ratio must be a scalar");
  const std::string why = dropout_not_copy_reason(ratio, &mode);
  if (!why.empty()) ctx.unsupported(why);
}

void infer_identity(InferContext& ctx) {
  if (ctx.node().op_type == "Dropout") check_dropout_copies(ctx);
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

Work no_work(const CostContext&) {
  return {};
}

}  // namespace

std::string dropout_not_copy_reason(const Tensor* ratio, const Tensor* training_mode) {
  if (!training_mode || training_mode->at_double(0) == 0) return {};
  const double r = ratio ? ratio->at_double(0) : 0.5;
  if (r == 0) return {};
  std::ostringstream why;
  why << "training_mode=true with ratio " << r
      << " drops values at random, which frugal does not run (only ratio 0, a copy)";
  return why.str();
}

FRUGAL_REGISTER_OP(Identity, OpDef{.op_type = "Identity",
                                   .infer = infer_identity,
                                   .ref = ref_identity,
                                   .cost = no_work});
// Dropout: a copy in inference mode, or in training mode with ratio 0 (see dropout.h).
FRUGAL_REGISTER_OP(Dropout, OpDef{.op_type = "Dropout",
                                  .max_inputs = 3,
                                  .max_outputs = 2,
                                  .infer = infer_identity,
                                  .ref = ref_identity,
                                  .cost = no_work});

}  // namespace frugal::ops
