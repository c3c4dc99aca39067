// The cuda backend's host-side decisions (src/frugal/kernels/cuda/host_plan.h), checked
// without a GPU in every build that has the cuda backend (FRUGAL_HAVE_CUDA: tests/cuda.cmake).
#include <gtest/gtest.h>

#ifdef FRUGAL_HAVE_CUDA
#include "frugal/kernels/cuda/host_plan.h"
#endif

#ifndef FRUGAL_HAVE_CUDA
#define FRUGAL_SKIP_WITHOUT_CUDA_BUILD() GTEST_SKIP() << "CPU-only build: no cuda backend"
#else
#define FRUGAL_SKIP_WITHOUT_CUDA_BUILD() (void)0
using namespace frugal::kernels::cuda;
using Inputs = std::vector<size_t>;
#endif

// Only the constants a kernel reads on the GPU are uploaded: float weights of fp32/fp16
// Conv and Gemm, both operands of a binary operator; not an int8 kernel's float weights
// (quantized on the host), nor BatchNorm's or LayerNorm's parameters (folded or expanded on
// the host), nor shape inputs. A residual-sum operand is read on the GPU (constant when it
// is a MatMul's bias fused from the Add after it).
TEST(CudaHostPlan, UploadsOnlyTheConstantsReadOnTheGpu) {
  FRUGAL_SKIP_WITHOUT_CUDA_BUILD();
#ifdef FRUGAL_HAVE_CUDA
  EXPECT_EQ(inputs_read_on_device("Conv", false, 3), (Inputs{0, 1, 2}));
  EXPECT_EQ(inputs_read_on_device("Conv", false, 2), (Inputs{0, 1}));
  EXPECT_EQ(inputs_read_on_device("Conv", false, 4), (Inputs{0, 1, 2, 3}));  // + sum operand
  EXPECT_EQ(inputs_read_on_device("ConvTranspose", false, 3), (Inputs{0, 1, 2}));
  EXPECT_EQ(inputs_read_on_device("Conv", true, 3), (Inputs{0}));
  EXPECT_EQ(inputs_read_on_device("Gemm", false, 3), (Inputs{0, 1}));
  EXPECT_EQ(inputs_read_on_device("MatMul", false, 2), (Inputs{0, 1}));
  EXPECT_EQ(inputs_read_on_device("Gemm", true, 3), (Inputs{0}));
  EXPECT_EQ(inputs_read_on_device("MatMul", true, 2), (Inputs{0}));
  EXPECT_EQ(inputs_read_on_device("MatMul", true, 3), (Inputs{0, 2}));  // bias fused as a sum
  EXPECT_EQ(inputs_read_on_device("MatMul", false, 3), (Inputs{0, 1, 2}));
  EXPECT_EQ(inputs_read_on_device("Gemm", true, 4), (Inputs{0, 3}));
  EXPECT_EQ(inputs_read_on_device("Add", false, 2), (Inputs{0, 1}));
  EXPECT_EQ(inputs_read_on_device("Concat", false, 4), (Inputs{0, 1, 2, 3}));
  EXPECT_EQ(inputs_read_on_device("BatchNormalization", false, 5), (Inputs{0}));
  EXPECT_EQ(inputs_read_on_device("LayerNormalization", false, 3), (Inputs{0}));
  EXPECT_EQ(inputs_read_on_device("Reshape", false, 2), (Inputs{0}));
  EXPECT_EQ(inputs_read_on_device("Resize", false, 4), (Inputs{0}));
  EXPECT_EQ(inputs_read_on_device("Relu", false, 1), (Inputs{0}));
#endif
}
