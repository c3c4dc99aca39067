// Ops that only move data in training: Flatten, Reshape, Squeeze, Unsqueeze, Identity
// (a view; the gradient is reshaped back) and Concat (the gradient is split).
#include "frugal/ops/op.h"
#include "frugal/train/grad_op.h"

namespace frugal::train {
namespace {

// Forward through the reference kernel (which resolves the shape rules); backward
// reshapes the output gradient to the input's shape.
class ViewGrad final : public GradOp {
 public:
  ViewGrad(const ir::Node& node, int64_t opset) : node_(node), opset_(opset) {}
  std::vector<Tensor> forward(const std::vector<Tensor>& in, const ForwardState&) override {
    return ops::evaluate(node_, opset_, in);
  }
  std::vector<Tensor> backward(const std::vector<Tensor>& in, const std::vector<Tensor>&,
                               const std::vector<Tensor>& dout, const std::vector<bool>&) override {
    std::vector<Tensor> din(in.size());
    din[0] = dout[0].reshaped(in[0].shape());
    return din;
  }

 private:
  ir::Node node_;
  int64_t opset_;
};

class ConcatGrad final : public GradOp {
 public:
  explicit ConcatGrad(const ir::Node& node, int64_t opset) : node_(node), opset_(opset) {}
  std::vector<Tensor> forward(const std::vector<Tensor>& in, const ForwardState&) override {
    return ops::evaluate(node_, opset_, in);
  }
  std::vector<Tensor> backward(const std::vector<Tensor>& in, const std::vector<Tensor>&,
                               const std::vector<Tensor>& dout,
                               const std::vector<bool>& need) override {
    const Shape& out = dout[0].shape();
    const int64_t rank = static_cast<int64_t>(out.size());
    int64_t axis = node_.attr_int("axis");
    if (axis < 0) axis += rank;
    int64_t outer = 1, inner = 1;
    for (int64_t d = 0; d < axis; ++d) outer *= out[d];
    for (int64_t d = axis + 1; d < rank; ++d) inner *= out[d];
    const int64_t out_row = out[axis] * inner;
    std::vector<Tensor> din(in.size());
    int64_t offset = 0;
    const float* dy = dout[0].data<float>();
    for (size_t k = 0; k < in.size(); ++k) {
      const int64_t row = in[k].dim(axis) * inner;
      if (need[k]) {
        din[k] = Tensor(DType::kF32, in[k].shape());
        float* d = din[k].data<float>();
        for (int64_t o = 0; o < outer; ++o)
          for (int64_t i = 0; i < row; ++i) d[o * row + i] = dy[o * out_row + offset + i];
      }
      offset += row;
    }
    return din;
  }

 private:
  ir::Node node_;
  int64_t opset_;
};

std::unique_ptr<GradOp> make_view(const ir::Node& n, int64_t opset, const KernelConfig&) {
  return std::make_unique<ViewGrad>(n, opset);
}

}  // namespace

FRUGAL_REGISTER_GRAD_OP(Flatten, "Flatten", make_view);
FRUGAL_REGISTER_GRAD_OP(Reshape, "Reshape", make_view);
FRUGAL_REGISTER_GRAD_OP(Squeeze, "Squeeze", make_view);
FRUGAL_REGISTER_GRAD_OP(Unsqueeze, "Unsqueeze", make_view);
FRUGAL_REGISTER_GRAD_OP(Identity, "Identity", make_view);
FRUGAL_REGISTER_GRAD_OP(Concat, "Concat", [](const ir::Node& n, int64_t opset, const KernelConfig&) {
  return std::make_unique<ConcatGrad>(n, opset);
});

}  // namespace frugal::train
