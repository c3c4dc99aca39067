// The cuda backend's host-side decisions (src/frugal/kernels/cuda/host_plan.h), checked
// without a GPU in every build that has the cuda backend (FRUGAL_HAVE_CUDA: tests/cuda.cmake).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

#ifdef FRUGAL_HAVE_CUDA
#include <iostream>
#include "frugal/kernels/cuda/host_plan.h"

#include "cuda/cuda_testing.h"
#include "frugal/runtime/session.h"
#include "kernels/cpu_testing.h"
#endif

#ifndef FRUGAL_HAVE_CUDA
#define FRUGAL_SKIP_WITHOUT_CUDA_BUILD() GTEST_SKIP() << "CPU-only build: no cuda backend"
#else
#define FRUGAL_SKIP_WITHOUT_CUDA_BUILD() (void)0
using namespace frugal;
using namespace frugal::cpu_testing;
using namespace frugal::cuda_testing;
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
  EXPECT_EQ(inputs_read_on_device("Attention", false, 4), (Inputs{0, 1, 2, 3}));
  EXPECT_EQ(inputs_read_on_device("BatchNormalization", false, 5), (Inputs{0}));
  EXPECT_EQ(inputs_read_on_device("LayerNormalization", false, 3), (Inputs{0}));
  EXPECT_EQ(inputs_read_on_device("Reshape", false, 2), (Inputs{0}));
  EXPECT_EQ(inputs_read_on_device("Resize", false, 4), (Inputs{0}));
  EXPECT_EQ(inputs_read_on_device("Gather", false, 2), (Inputs{0}));  // indices: normalized copy
  EXPECT_EQ(inputs_read_on_device("Relu", false, 1), (Inputs{0}));
#endif
}

#ifdef FRUGAL_HAVE_CUDA
namespace {

struct ConvCase {
  Shape x;
  int64_t m, k, stride, pad_begin, pad_end, dilation;
  bool bias;
};

// The int8 convolution's host-side plan run on the CPU: x quantized per tensor into the
// im2col matrix (im2col_source), W per output channel (quantize_per_channel), the int32
// product, then read channels last (channels_last_index) and rescaled as the epilogue does.
// Each output must lie within the rounding bound of the format of ref's float32 result:
// sum over the taps of |x| sw / 2 + (|w| + sw / 2) sx / 2 (half a step each), plus float32
// rounding; this checks the geometry, the packing and the scale folding the GPU kernels use.
// Returns the largest |result - ref| / bound, the result being the emulation above or, with
// `backend` set (a GPU run), that backend's output (the emulation then also checked).
double int8_conv_error_over_bound(const ConvCase& c, const std::string& backend = "") {
  const int64_t spatial = static_cast<int64_t>(c.x.size()) - 2;
  Shape ws = {c.m, c.x[1]};
  for (int64_t d = 0; d < spatial; ++d) ws.push_back(c.k);
  const Tensor x = random_tensor(c.x, 61, 2.f), w = random_tensor(ws, 62, 0.3f);
  const Tensor bias = random_tensor({c.m}, 63);
  std::vector<int64_t> pads(static_cast<size_t>(spatial), c.pad_begin);
  pads.insert(pads.end(), static_cast<size_t>(spatial), c.pad_end);
  const OneNode t =
      one_node("Conv", {input("x", x), constant("w", w), c.bias ? constant("b", bias) : omitted()},
               {{"strides", attr(std::vector<int64_t>(static_cast<size_t>(spatial), c.stride))},
                {"dilations", attr(std::vector<int64_t>(static_cast<size_t>(spatial), c.dilation))},
                {"pads", attr(pads)}});
  runtime::SessionOptions opt;
  opt.backends = {"ref"};
  const Tensor want = runtime::Session(t.graph, opt).run(t.feeds)[0];
  Im2col g;
  EXPECT_EQ(im2col_of(t.graph.nodes[0], c.x, ws, want.shape(), g), "");
  EXPECT_EQ(g.k_pad % kInt8KMultiple, 0);
  const float* px = x.data<float>();
  float xmax = 0;
  for (int64_t i = 0; i < x.numel(); ++i) xmax = std::max(xmax, std::fabs(px[i]));
  const float sx = xmax / 127.f;
  const Int8Weights wq = quantize_per_channel(w.data<float>(), c.m, g.k, g.k_pad, true);
  for (int64_t j = 0; j < c.m; ++j)
    for (int64_t kk = g.k; kk < g.k_pad; ++kk)
      EXPECT_EQ(wq.q[static_cast<size_t>(j * g.k_pad + kk)], 0);
  std::vector<int8_t> a(static_cast<size_t>(g.rows() * g.k_pad));
  for (int64_t r = 0; r < g.rows(); ++r)
    for (int64_t col = 0; col < g.k_pad; ++col) {
      const int64_t s = im2col_source(g, r, col);
      a[static_cast<size_t>(r * g.k_pad + col)] =
          s < 0 ? 0 : static_cast<int8_t>(std::clamp(std::nearbyint(px[s] / sx), -127.f, 127.f));
    }
  std::vector<int32_t> d(static_cast<size_t>(g.rows() * c.m), 0);
  for (int64_t r = 0; r < g.rows(); ++r)
    for (int64_t j = 0; j < c.m; ++j)
      for (int64_t col = 0; col < g.k_pad; ++col)
        d[static_cast<size_t>(r * c.m + j)] += a[static_cast<size_t>(r * g.k_pad + col)] *
                                               wq.q[static_cast<size_t>(j * g.k_pad + col)];
  Tensor gpu;
  if (!backend.empty()) {
    runtime::SessionOptions gpu_opt;
    gpu_opt.backends = {backend};
    gpu_opt.backend_config.ranges["x"] = {-xmax, xmax};
    runtime::Session s(t.graph, gpu_opt);
    for (const auto& as : s.assignments())
      if (as.op_type != "Copy") {
        EXPECT_EQ(as.backend, backend);
      }
    gpu = s.run(t.feeds)[0];
  }
  const int64_t inner = g.oh * g.ow;
  double ref_max = 0, worst = 0;
  for (int64_t i = 0; i < want.numel(); ++i)
    ref_max = std::max(ref_max, std::fabs(static_cast<double>(want.data<float>()[i])));
  for (int64_t i = 0; i < want.numel(); ++i) {
    const int64_t j = (i / inner) % c.m, r = i / (inner * c.m) * inner + i % inner;
    EXPECT_EQ(channels_last_index(i, c.m, inner), r * c.m + j);
    const double sw = wq.scale[static_cast<size_t>(j)];
    const double got = d[static_cast<size_t>(channels_last_index(i, c.m, inner))] * (sx * sw) +
                       (c.bias ? bias.data<float>()[j] : 0.f);
    double bound = 1e-5 * ref_max;
    for (int64_t col = 0; col < g.k; ++col)
      if (const int64_t s = im2col_source(g, r, col); s >= 0)
        bound += std::fabs(px[s]) * sw / 2 +
                 (std::fabs(w.data<float>()[j * g.k + col]) + sw / 2) * sx / 2;
    if (!backend.empty()) {  // the GPU sums the same int32 products: equal up to float32
      const double on_gpu = gpu.data<float>()[i];
      EXPECT_LE(std::fabs(on_gpu - got), 1e-5 * ref_max) << backend << " element " << i;
      worst = std::max(worst, std::fabs(on_gpu - want.data<float>()[i]) / bound);
      continue;
    }
    worst = std::max(worst, std::fabs(got - want.data<float>()[i]) / bound);
  }
  return worst;
}

}  // namespace
#endif

#ifdef FRUGAL_HAVE_CUDA
namespace {
const std::vector<ConvCase> kInt8ConvCases = {
    {{1, 3, 12, 12}, 8, 3, 1, 1, 1, 1, true},   // K = 27, padded to 28
    {{2, 3, 15, 15}, 4, 7, 2, 3, 3, 1, true},   // the resnet stem's geometry, batch 2
    {{1, 16, 6, 5}, 12, 1, 1, 0, 0, 1, false},  // 1x1
    {{1, 4, 11, 11}, 6, 3, 1, 2, 2, 2, true},   // dilation 2
    {{1, 5, 9, 9}, 7, 3, 2, 0, 1, 1, true},     // asymmetric pads, stride 2
    {{2, 6, 20}, 5, 5, 2, 2, 2, 1, true},       // 1-D
};
}  // namespace
#endif

TEST(CudaHostPlan, Int8ConvolutionPlanMatchesRef) {
  FRUGAL_SKIP_WITHOUT_CUDA_BUILD();
#ifdef FRUGAL_HAVE_CUDA
  for (const auto& c : kInt8ConvCases) {
    const double worst = int8_conv_error_over_bound(c);
    EXPECT_LE(worst, 1.0) << shape_str(c.x) << " k=" << c.k;
    EXPECT_GT(worst, 0.0) << "the int8 path should not be exact";
  }
  // Depthwise and grouped convolutions are declined with the reason.
  Im2col g;
  ir::Node grouped;
  grouped.op_type = "Conv";
  grouped.attrs["group"] = attr(int64_t{2});
  EXPECT_NE(im2col_of(grouped, {1, 4, 8, 8}, {4, 2, 3, 3}, {1, 4, 6, 6}, g).find("groups"),
            std::string::npos);
#endif
}

// The same cases on the GPU (cuda:int8: im2col_quantize, cuBLASLt int8, the channels-last
// epilogue): within the format's bound of ref and equal to the host emulation up to float32.
TEST(CudaVsRef, Int8ConvWithinTheFormatsBound) {
  FRUGAL_SKIP_WITHOUT_CUDA_BUILD();
#ifdef FRUGAL_HAVE_CUDA
  FRUGAL_SKIP_WITHOUT_GPU();
  for (const auto& c : kInt8ConvCases) {
    const double worst = int8_conv_error_over_bound(c, "cuda:int8");
    EXPECT_LE(worst, 1.0) << shape_str(c.x) << " k=" << c.k;
    std::cout << "[ observed ] int8 Conv " << shape_str(c.x) << " k=" << c.k
              << ": largest error / bound = " << worst << "\n";
  }
#endif
}
