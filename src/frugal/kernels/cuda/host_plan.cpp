#include "frugal/kernels/cuda/host_plan.h"

namespace frugal::kernels::cuda {

std::vector<size_t> inputs_read_on_device(const std::string& op_type, bool int8, size_t inputs) {
  std::vector<size_t> all(inputs);
  for (size_t i = 0; i < inputs; ++i) all[i] = i;
  if (op_type == "Concat" || op_type == "Add" || op_type == "Sub" || op_type == "Mul" ||
      op_type == "Div")
    return all;
  std::vector<size_t> read = {0};  // the data input (constant data is declined or uploaded)
  const bool conv = op_type == "Conv" || op_type == "ConvTranspose";
  if (!int8 && conv)
    read = {0, 1, 2};  // weights (fp16/bf16: converted once on the GPU), bias
  else if (!int8 && (op_type == "Gemm" || op_type == "MatMul"))
    read = {0, 1};  // B (Gemm's C is folded into the epilogue's bias on the host)
  // The residual-sum post-op's operand (ops/post_ops.h; a constant one is a MatMul's bias).
  if (conv || op_type == "Gemm") read.push_back(3);
  if (op_type == "MatMul") read.push_back(2);
  std::vector<size_t> present;
  for (size_t i : read)
    if (i < inputs && (present.empty() || i > present.back())) present.push_back(i);
  return present;
}

}  // namespace frugal::kernels::cuda
