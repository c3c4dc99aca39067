// Block-circulant kernels against the reference: frugal's own real FFT and FFTW against a
// direct DFT, and the cpu backend's FFT kernel (both FFTs) and the emu backend's kernel
// against the reference kernel of frugal.BlockCirculant over block sizes and shapes.
#include <gtest/gtest.h>

#include <cmath>
#include <complex>
#include <numbers>

#include "cpu_testing.h"
#include "frugal/kernels/cpu/threads.h"
#include "frugal/kernels/fft.h"
#include "frugal/ops/block_circulant.h"

namespace frugal {
namespace {

using namespace cpu_testing;
using kernels::FftLibrary;

TEST(RealFft, MatchesDirectDftBothWays) {
  for (FftLibrary lib : {FftLibrary::kOwn, FftLibrary::kFftw})
    for (int64_t n = 2; n <= 256; n *= 2) {
      const int64_t count = 3;
      kernels::RealFft fft(n, lib);
      const Tensor x = random_tensor({count, n}, static_cast<uint64_t>(n));
      std::vector<std::complex<float>> spec(static_cast<size_t>(count * fft.bins()));
      fft.forward(x.data<float>(), spec.data(), count);
      double worst = 0;
      for (int64_t c = 0; c < count; ++c)
        for (int64_t k = 0; k < fft.bins(); ++k) {
          std::complex<double> want = 0;
          for (int64_t t = 0; t < n; ++t)
            want += double(x.data<float>()[c * n + t]) *
                    std::polar(1.0, -2 * std::numbers::pi * double(k * t) / double(n));
          const std::complex<double> got = spec[static_cast<size_t>(c * fft.bins() + k)];
          worst = std::max(worst, std::abs(got - want) / std::sqrt(double(n)));
        }
      EXPECT_LT(worst, 1e-5) << to_string(lib) << " n=" << n;
      std::vector<float> back(static_cast<size_t>(count * n));
      fft.inverse(spec.data(), back.data(), count);
      for (int64_t i = 0; i < count * n; ++i)
        ASSERT_NEAR(back[static_cast<size_t>(i)] / float(n), x.data<float>()[i], 2e-5)
            << to_string(lib) << " n=" << n << " i=" << i;
    }
}

struct Case {
  Shape x;
  int64_t axis, out, b;
  bool bias;
};

OneNode circulant_node(const Case& c, const std::string& fft) {
  const int64_t in = c.x[static_cast<size_t>(c.axis < 0 ? c.axis + int64_t(c.x.size()) : c.axis)];
  const int64_t p = (c.out + c.b - 1) / c.b, q = (in + c.b - 1) / c.b;
  std::vector<Operand> ops = {input("x", random_tensor(c.x, 1)),
                              constant("w", random_tensor({p, q, c.b}, 2, 0.2f))};
  if (c.bias) ops.push_back(constant("bias", random_tensor({c.out}, 3)));
  OneNode t = one_node(ops::kBlockCirculant, ops,
                       {{"axis", attr(c.axis)},
                        {"in_features", attr(in)},
                        {"out_features", attr(c.out)},
                        {"fft", attr(fft)}});
  t.graph.nodes[0].domain = ops::kFrugalDomain;
  t.graph.opsets[ops::kFrugalDomain] = 1;
  return t;
}

std::vector<Case> cases() {
  std::vector<Case> v;
  for (int64_t b : {4, 8, 16, 32, 64, 128, 256}) {
    v.push_back({{1, 2 * b}, -1, 3 * b, b, true});       // batch 1, blocks divide
    v.push_back({{5, 2 * b - 3}, -1, b + 1, b, false});  // padded both ways
  }
  v.push_back({{2, 24, 3, 5}, 1, 40, 8, true});  // 1x1 convolution over NCHW
  v.push_back({{2, 3, 20}, -1, 12, 4, true});    // MatMul-like [.., K]
  v.push_back({{64, 300}, -1, 100, 32, true});   // LeNet-300-100's second layer at batch 64
  return v;
}

std::string label(const Case& c, const std::string& fft) {
  return fft + " x" + shape_str(c.x) + " axis " + std::to_string(c.axis) + " out " +
         std::to_string(c.out) + " b " + std::to_string(c.b);
}

TEST(CpuBlockCirculant, FftKernelsMatchRef) {
  for (const char* fft : {"own", "fftw"})
    for (const Case& c : cases()) {
      const OneNode t = circulant_node(c, fft);
      const Ran ref = run_on("ref", t.graph, t.feeds);
      const Ran got = run_on("cpu", t.graph, t.feeds);
      ASSERT_EQ(got.assignments.at(0).impl, std::string("cpu:circulant-fft:") + fft)
          << label(c, fft);
      EXPECT_LE(relative_error(got.outputs[0], ref.outputs[0]), 2e-5) << label(c, fft);
    }
}

// Two threads split the rows: each thread's slice through its own FFT buffers and plans,
// the same values as one thread's (rows are independent) and within ref's tolerance.
TEST(CpuBlockCirculant, TwoThreadsMatchOneThreadAndRef) {
  const int before = kernels::cpu::num_threads();
  for (const char* fft : {"own", "fftw"})
    for (const Case& c : {Case{{64, 300}, -1, 100, 32, true}, Case{{5, 30}, -1, 17, 8, false},
                          Case{{2, 24, 3, 5}, 1, 40, 8, true}, Case{{1, 64}, -1, 64, 16, true}}) {
      const OneNode t = circulant_node(c, fft);
      kernels::cpu::set_num_threads(1);
      const Tensor one = run_on("cpu", t.graph, t.feeds).outputs.at(0);
      kernels::cpu::set_num_threads(2);
      const Ran two = run_on("cpu", t.graph, t.feeds);
      EXPECT_TRUE(two.outputs.at(0).equals(one)) << label(c, fft);
      EXPECT_LE(relative_error(two.outputs[0], run_on("ref", t.graph, t.feeds).outputs[0]), 2e-5)
          << label(c, fft);
    }
  kernels::cpu::set_num_threads(before);
}

TEST(CpuBlockCirculant, Bf16Declines) {
  const OneNode t = circulant_node(cases()[0], "fftw");
  EXPECT_NE(cpu_decline_reason(t, "cpu:bf16").find("bf16 not implemented"), std::string::npos);
}

// The emu backend runs the block-circulant layer as the dense layer it stands for: with the
// same format it equals, bit for bit, a Gemm holding the dense equivalent.
TEST(EmuBlockCirculant, EqualsTheDenseGemmInEveryFormat) {
  const std::string fp32 = "w=fp32,a=fp32,acc=fp32";
  for (const std::string& format :
       {fp32, std::string("w=e4m3,a=e4m3,acc=fp32"), std::string("w=bf16,a=bf16,acc=bf16")})
    for (const Case& c : {Case{{5, 13}, -1, 9, 4, false}, Case{{3, 64}, -1, 96, 32, true}}) {
      const OneNode t = circulant_node(c, "fftw");
      const Tensor& w = t.graph.initializers.at("w");
      const std::vector<float> dense =
          ops::circulant_dense(w.data<float>(), ops::circulant_blocks(w.shape(), t.graph.nodes[0]));
      std::vector<Operand> gops = {input("x", t.feeds[0]),
                                   constant("w", Tensor::from_vector({c.out, c.x[1]}, dense))};
      if (c.bias) gops.push_back(constant("bias", t.graph.initializers.at("bias")));
      const OneNode g = one_node("Gemm", gops, {{"transB", attr(int64_t{1})}});
      runtime::SessionOptions opt;
      opt.backends = {"emu"};
      opt.backend_config.format = format;
      runtime::Session session(t.graph, opt);
      EXPECT_NE(session.assignments().at(0).impl.find("block-circulant as dense"),
                std::string::npos);
      const Tensor a = session.run(t.feeds).at(0);
      const Tensor d = runtime::Session(g.graph, opt).run(g.feeds).at(0);
      EXPECT_EQ(relative_error(a, d), 0.0) << format << " " << label(c, "");
      if (format == fp32) {
        EXPECT_LE(relative_error(a, run_on("ref", t.graph, t.feeds).outputs[0]), 1e-5);
      }
    }
}

}  // namespace
}  // namespace frugal
