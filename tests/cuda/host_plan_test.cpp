// The cuda backend's host-side decisions (src/frugal/kernels/cuda/host_plan.h), checked
// without a GPU in every build that has the cuda backend (FRUGAL_HAVE_CUDA: tests/cuda.cmake).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

#ifdef FRUGAL_HAVE_CUDA
#include <iostream>
#include "frugal/kernels/cuda/gather_index.h"
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
  int64_t group = 1;
};

// x quantized per tensor as launch_quantize does.
std::vector<int8_t> quantized(const Tensor& x, float sx) {
  std::vector<int8_t> q(static_cast<size_t>(x.numel()));
  for (int64_t i = 0; i < x.numel(); ++i)
    q[static_cast<size_t>(i)] =
        static_cast<int8_t>(std::clamp(std::nearbyint(x.data<float>()[i] / sx), -127.f, 127.f));
  return q;
}

// The int32 sums the epilogue reads, per element of the NCHW result, as the GPU path forms
// them. One group: the im2col matrix (im2col_source), the int32 GEMM with the packed weights,
// the channels-last result read back (channels_last_index). Groups > 1: each element's taps
// summed directly (grouped_conv_source), as launch_grouped_conv_int8 does.
std::vector<int32_t> int8_conv_sums(const Im2col& g, int64_t m, const std::vector<int8_t>& qx,
                                    const Int8Weights& wq, int64_t out_numel) {
  const int64_t inner = g.oh * g.ow;
  std::vector<int32_t> acc(static_cast<size_t>(out_numel), 0);
  if (g.groups > 1) {
    for (int64_t i = 0; i < out_numel; ++i)
      for (int64_t t = 0; t < g.k; ++t)
        if (const int64_t s = grouped_conv_source(g, m, i, t); s >= 0)
          acc[static_cast<size_t>(i)] +=
              qx[static_cast<size_t>(s)] * wq.q[static_cast<size_t>((i / inner) % m * g.k + t)];
    return acc;
  }
  std::vector<int8_t> a(static_cast<size_t>(g.rows() * g.k_pad));
  for (int64_t r = 0; r < g.rows(); ++r)
    for (int64_t col = 0; col < g.k_pad; ++col) {
      const int64_t s = im2col_source(g, r, col);
      a[static_cast<size_t>(r * g.k_pad + col)] = s < 0 ? 0 : qx[static_cast<size_t>(s)];
    }
  std::vector<int32_t> d(static_cast<size_t>(g.rows() * m), 0);
  for (int64_t r = 0; r < g.rows(); ++r)
    for (int64_t j = 0; j < m; ++j)
      for (int64_t col = 0; col < g.k_pad; ++col)
        d[static_cast<size_t>(r * m + j)] += a[static_cast<size_t>(r * g.k_pad + col)] *
                                             wq.q[static_cast<size_t>(j * g.k_pad + col)];
  for (int64_t i = 0; i < out_numel; ++i) {
    const int64_t j = (i / inner) % m, r = i / (inner * m) * inner + i % inner;
    EXPECT_EQ(channels_last_index(i, m, inner), r * m + j);
    for (int64_t t = 0; t < g.k; ++t)  // with one group, the direct taps are im2col's
      EXPECT_EQ(grouped_conv_source(g, m, i, t), im2col_source(g, r, t));
    acc[static_cast<size_t>(i)] = d[static_cast<size_t>(channels_last_index(i, m, inner))];
  }
  return acc;
}

// The int8 convolution's host-side plan run on the CPU: x quantized per tensor, W per
// output channel (quantize_per_channel), the int32 sums (int8_conv_sums), rescaled as the
// epilogue does. Each output must lie within the rounding bound of the format of ref's
// float32 result: sum over the taps of |x| sw / 2 + (|w| + sw / 2) sx / 2 (half a step
// each), plus float32 rounding; this checks the geometry, the packing and the scale
// folding the GPU kernels use. Returns the largest |result - ref| / bound, the result being
// the emulation above or, with `backend` set (a GPU run), that backend's output (the
// emulation then also checked).
double int8_conv_error_over_bound(const ConvCase& c, const std::string& backend = "") {
  const int64_t spatial = static_cast<int64_t>(c.x.size()) - 2;
  Shape ws = {c.m, c.x[1] / c.group};
  for (int64_t d = 0; d < spatial; ++d) ws.push_back(c.k);
  const Tensor x = random_tensor(c.x, 61, 2.f), w = random_tensor(ws, 62, 0.3f);
  const Tensor bias = random_tensor({c.m}, 63);
  std::vector<int64_t> pads(static_cast<size_t>(spatial), c.pad_begin);
  pads.insert(pads.end(), static_cast<size_t>(spatial), c.pad_end);
  const OneNode t =
      one_node("Conv", {input("x", x), constant("w", w), c.bias ? constant("b", bias) : omitted()},
               {{"strides", attr(std::vector<int64_t>(static_cast<size_t>(spatial), c.stride))},
                {"dilations", attr(std::vector<int64_t>(static_cast<size_t>(spatial), c.dilation))},
                {"pads", attr(pads)},
                {"group", attr(c.group)}});
  runtime::SessionOptions opt;
  opt.backends = {"ref"};
  const Tensor want = runtime::Session(t.graph, opt).run(t.feeds)[0];
  Im2col g;
  EXPECT_EQ(im2col_of(t.graph.nodes[0], c.x, ws, want.shape(), g), "");
  EXPECT_EQ(g.groups, c.group);
  EXPECT_EQ(g.k_pad % kInt8KMultiple, 0);
  const float* px = x.data<float>();
  float xmax = 0;
  for (int64_t i = 0; i < x.numel(); ++i) xmax = std::max(xmax, std::fabs(px[i]));
  const float sx = xmax / 127.f;
  // The GPU packs k_pad columns for the GEMM (one group) and k for the direct sums.
  const int64_t k_stored = c.group > 1 ? g.k : g.k_pad;
  const Int8Weights wq = quantize_per_channel(w.data<float>(), c.m, g.k, k_stored, true);
  for (int64_t j = 0; j < c.m; ++j)
    for (int64_t kk = g.k; kk < k_stored; ++kk)
      EXPECT_EQ(wq.q[static_cast<size_t>(j * k_stored + kk)], 0);
  const std::vector<int32_t> acc = int8_conv_sums(g, c.m, quantized(x, sx), wq, want.numel());
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
    const int64_t j = (i / inner) % c.m;
    const double sw = wq.scale[static_cast<size_t>(j)];
    const double got =
        acc[static_cast<size_t>(i)] * (sx * sw) + (c.bias ? bias.data<float>()[j] : 0.f);
    double bound = 1e-5 * ref_max;
    for (int64_t col = 0; col < g.k; ++col)
      if (const int64_t s = grouped_conv_source(g, c.m, i, col); s >= 0)
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
    // Groups > 1 (the direct int32 kernel): grouped, depthwise as in mobilenet_v2 and
    // efficientnet_b0, with a channel multiplier, dilated, 1-D.
    {{1, 4, 9, 9}, 6, 3, 1, 1, 1, 1, true, 2},       // 2 groups
    {{2, 8, 10, 9}, 12, 3, 2, 0, 1, 1, false, 4},    // 4 groups, stride 2, asymmetric pads
    {{2, 8, 10, 10}, 8, 3, 1, 1, 1, 1, true, 8},     // depthwise 3x3
    {{1, 16, 11, 11}, 16, 3, 2, 1, 1, 1, true, 16},  // depthwise, stride 2
    {{1, 6, 13, 13}, 6, 5, 1, 2, 2, 1, true, 6},     // depthwise 5x5
    {{1, 4, 12, 12}, 8, 3, 1, 2, 2, 2, false, 4},    // depthwise, multiplier 2, dilation 2
    {{2, 6, 20}, 6, 3, 2, 1, 1, 1, true, 6},         // depthwise 1-D
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
  // A group count that does not divide the channels is declined with the reason.
  Im2col g;
  ir::Node grouped;
  grouped.op_type = "Conv";
  grouped.attrs["group"] = attr(int64_t{3});
  EXPECT_NE(im2col_of(grouped, {1, 4, 8, 8}, {6, 1, 3, 3}, {1, 6, 6, 6}, g).find("group 3"),
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

#ifdef FRUGAL_HAVE_CUDA
namespace {

struct GatherCase {
  Shape x;
  int64_t axis;
  Shape index_shape;
  std::vector<int64_t> index;
  DType index_dtype;
};

// Scalar, negative, repeated and 2-D indices on every axis, int32 and int64; the last is
// BERT's embedding lookup (ids [batch, tokens] into a [vocab, hidden] table).
const std::vector<GatherCase> kGatherCases = {
    {{2, 5, 3, 4}, 1, {}, {0}, DType::kI64},
    {{2, 5, 3, 4}, 0, {3}, {1, -1, 0}, DType::kI32},
    {{2, 5, 3, 4}, -1, {2, 2}, {3, 0, 0, -2}, DType::kI64},
    {{2, 5, 3, 4}, 2, {1}, {-3}, DType::kI32},
    {{7}, 0, {2, 3}, {6, -7, 0, 3, 3, -1}, DType::kI64},
    {{30, 16}, 0, {2, 7}, {1, 29, 0, 5, 5, 17, 2, 3, 0, 28, 11, 11, 4, 9}, DType::kI64},
};

Tensor index_tensor(const GatherCase& c) {
  if (c.index_dtype == DType::kI64) return Tensor::from_vector<int64_t>(c.index_shape, c.index);
  return Tensor::from_vector<int32_t>(c.index_shape,
                                      std::vector<int32_t>(c.index.begin(), c.index.end()));
}

OneNode gather_node(const GatherCase& c, const Tensor& index) {
  return one_node("Gather", {input("x", random_tensor(c.x, 81)), input("i", index)},
                  {{"axis", attr(c.axis)}});
}

GatherShape gather_shape(const GatherCase& c) {
  const auto a =
      static_cast<size_t>(c.axis < 0 ? c.axis + static_cast<int64_t>(c.x.size()) : c.axis);
  GatherShape s;
  for (size_t d = 0; d < a; ++d) s.outer *= c.x[d];
  for (size_t d = a + 1; d < c.x.size(); ++d) s.inner *= c.x[d];
  s.axis_dim = c.x[a];
  s.n_index = static_cast<int64_t>(c.index.size());
  return s;
}

}  // namespace
#endif

// The GPU Gather's index arithmetic (gather_index.h: slot, normalization, source) run on
// the host over every case reproduces ref exactly; an index outside [-dim, dim) is found,
// and its error names the node as ref's does.
TEST(CudaHostPlan, GatherIndexMathMatchesRef) {
  FRUGAL_SKIP_WITHOUT_CUDA_BUILD();
#ifdef FRUGAL_HAVE_CUDA
  for (const auto& c : kGatherCases) {
    const OneNode t = gather_node(c, index_tensor(c));
    runtime::SessionOptions opt;
    opt.backends = {"ref"};
    const Tensor want = runtime::Session(t.graph, opt).run(t.feeds)[0];
    const GatherShape s = gather_shape(c);
    ASSERT_EQ(s.size(), want.numel()) << shape_str(c.x);
    const float* x = t.feeds[0].data<float>();
    for (int64_t i = 0; i < s.size(); ++i) {
      const int64_t at =
          normalized_index(c.index[static_cast<size_t>(gather_index_slot(s, i))], s.axis_dim);
      ASSERT_GE(at, 0);
      EXPECT_EQ(x[gather_source(s, i, at)], want.data<float>()[i])
          << shape_str(c.x) << " axis " << c.axis << " element " << i;
    }
  }
  EXPECT_EQ(normalized_index(-5, 5), 0);
  EXPECT_EQ(normalized_index(4, 5), 4);
  EXPECT_EQ(normalized_index(5, 5), -1);
  EXPECT_EQ(normalized_index(-6, 5), -1);
  // The error names the node and words it as ref does.
  GatherCase bad = kGatherCases[1];
  bad.index = {1, 5, 0};
  const OneNode t = gather_node(bad, index_tensor(bad));
  runtime::SessionOptions opt;
  opt.backends = {"ref"};
  try {
    runtime::Session(t.graph, opt).run(t.feeds);
    ADD_FAILURE() << "ref accepted index 5 for an axis of size 2";
  } catch (const UserError& e) {
    const std::string mine = index_fault_message(t.graph.nodes[0].describe(), 5, 2);
    EXPECT_EQ(mine.rfind(e.what(), 0), 0u) << mine << " | " << e.what();
  }
#endif
}

// The same cases on the GPU with the indices as run-time inputs (int32 and int64), then an
// index out of range: one UserError naming the node, after which the next run is clean.
TEST(CudaVsRef, GatherRunTimeIndices) {
  FRUGAL_SKIP_WITHOUT_CUDA_BUILD();
#ifdef FRUGAL_HAVE_CUDA
  FRUGAL_SKIP_WITHOUT_GPU();
  for (const auto& c : kGatherCases) {
    const OneNode t = gather_node(c, index_tensor(c));
    runtime::SessionOptions ref_opt, gpu_opt;
    ref_opt.backends = {"ref"};
    gpu_opt.backends = {"cuda"};
    runtime::Session gpu(t.graph, gpu_opt);
    for (const auto& a : gpu.assignments())
      if (a.op_type != "Copy") {
        EXPECT_EQ(a.backend, "cuda") << shape_str(c.x);
      }
    const Tensor want = runtime::Session(t.graph, ref_opt).run(t.feeds)[0];
    const Tensor got = gpu.run(t.feeds)[0];
    EXPECT_EQ(relative_error(got, want), 0.0) << shape_str(c.x) << " axis " << c.axis;
  }
  // BERT's form: a constant table (uploaded at plan time), run-time int64 ids.
  GatherCase c = kGatherCases.back();
  const OneNode table = one_node(
      "Gather", {constant("table", random_tensor(c.x, 82)), input("ids", index_tensor(c))});
  runtime::SessionOptions ref_opt;
  ref_opt.backends = {"ref"};
  runtime::SessionOptions table_opt;
  table_opt.backends = {"cuda"};
  runtime::Session on_gpu(table.graph, table_opt);
  EXPECT_EQ(relative_error(on_gpu.run(table.feeds)[0],
                           runtime::Session(table.graph, ref_opt).run(table.feeds)[0]),
            0.0)
      << "constant table";
  const OneNode t = gather_node(c, index_tensor(c));
  runtime::SessionOptions opt;
  opt.backends = {"cuda"};
  runtime::Session gpu(t.graph, opt);
  for (int64_t bad : {int64_t{30}, int64_t{-31}}) {
    auto feeds = t.feeds;
    c.index[3] = bad;
    feeds[1] = index_tensor(c);
    try {
      gpu.run(feeds);
      ADD_FAILURE() << "index " << bad << " accepted";
    } catch (const UserError& e) {
      const std::string why = e.what();
      EXPECT_NE(why.find(index_fault_message(t.graph.nodes[0].describe(), bad, c.x[0])),
                std::string::npos)
          << why;
    }
  }
  EXPECT_EQ(relative_error(gpu.run(t.feeds)[0], runtime::Session(t.graph, ref_opt).run(t.feeds)[0]),
            0.0);
#endif
}
