// frugal.BlockCirculant in training: the FFT forward and backward (both FFTs) against the
// dense-equivalent path of the reference kernels, and that path against finite differences.
#include <gtest/gtest.h>

#include <cmath>

#include "frugal/core/rng.h"
#include "frugal/ops/block_circulant.h"
#include "frugal/train/autograd.h"
#include "frugal/train/grad_op.h"

namespace frugal::train {
namespace {

Tensor random_tensor(const Shape& shape, uint64_t seed) {
  Tensor t(DType::kF32, shape);
  const Philox rng(seed, 5);
  for (int64_t i = 0; i < t.numel(); ++i) t.data<float>()[i] = rng.normal(static_cast<uint64_t>(i));
  return t;
}

struct Case {
  Shape x;
  int64_t axis, out, b;
};

ir::Node node_for(const Case& c, const std::string& fft) {
  ir::Node n;
  n.name = "circ";
  n.op_type = ops::kBlockCirculant;
  n.domain = ops::kFrugalDomain;
  const int64_t in = c.x[static_cast<size_t>(c.axis < 0 ? c.axis + int64_t(c.x.size()) : c.axis)];
  n.attrs["axis"] = ir::Attribute{c.axis};
  n.attrs["in_features"] = ir::Attribute{in};
  n.attrs["out_features"] = ir::Attribute{c.out};
  n.attrs["fft"] = ir::Attribute{fft};
  return n;
}

std::vector<Tensor> inputs_for(const Case& c) {
  const int64_t in = c.x[static_cast<size_t>(c.axis < 0 ? c.axis + int64_t(c.x.size()) : c.axis)];
  return {random_tensor(c.x, 1),
          random_tensor({(c.out + c.b - 1) / c.b, (in + c.b - 1) / c.b, c.b}, 2),
          random_tensor({c.out}, 3)};
}

struct Result {
  Tensor y;
  std::vector<Tensor> grads;
};

Result run(const Case& c, const std::string& fft, KernelChoice kernels,
           const std::vector<Tensor>& in, const Tensor& dy) {
  const GradOpFactory* f = find_grad_op("frugal.BlockCirculant");
  EXPECT_NE(f, nullptr);
  auto op = (*f)(node_for(c, fft), 1, KernelConfig(kernels));
  Result r;
  r.y = op->forward(in, ForwardState{})[0];
  r.grads = op->backward(in, {r.y}, {dy}, {true, true, true});
  return r;
}

double max_diff(const Tensor& a, const Tensor& b) {
  double d = 0;
  for (int64_t i = 0; i < a.numel(); ++i)
    d = std::max(d, double(std::fabs(a.data<float>()[i] - b.data<float>()[i])));
  return d;
}

TEST(BlockCirculantGrad, FftMatchesTheDensePath) {
  const std::vector<Case> cases = {{{4, 64}, -1, 32, 8},
                                   {{3, 50}, -1, 30, 16},
                                   {{2, 12, 3, 3}, 1, 20, 4},
                                   {{64, 100}, -1, 10, 128},
                                   {{1, 256}, -1, 256, 256}};
  for (const Case& c : cases) {
    const std::vector<Tensor> in = inputs_for(c);
    Shape ys = c.x;
    ys[static_cast<size_t>(c.axis < 0 ? c.axis + int64_t(c.x.size()) : c.axis)] = c.out;
    const Tensor dy = random_tensor(ys, 4);
    const Result ref = run(c, "fftw", KernelChoice::kReference, in, dy);
    for (const std::string& fft : {std::string("own"), std::string("fftw")}) {
      const Result got = run(c, fft, KernelChoice::kFast, in, dy);
      const std::string what = fft + " b=" + std::to_string(c.b) + " x" + shape_str(c.x);
      EXPECT_LT(max_diff(got.y, ref.y), 1e-3) << what;
      for (size_t i = 0; i < 3; ++i) {
        ASSERT_EQ(got.grads[i].shape(), in[i].shape()) << what << " input " << i;
        EXPECT_LT(max_diff(got.grads[i], ref.grads[i]), 2e-3) << what << " input " << i;
      }
    }
  }
}

// d(sum y * dy)/d(input) by central differences, for the dense path (kReference).
TEST(BlockCirculantGrad, DensePathMatchesFiniteDifferences) {
  const Case c{{2, 10}, -1, 6, 4};
  std::vector<Tensor> in = inputs_for(c);
  const Tensor dy = random_tensor({2, 6}, 4);
  const Result r = run(c, "fftw", KernelChoice::kReference, in, dy);
  auto loss = [&](const std::vector<Tensor>& x) {
    const Tensor y = run(c, "fftw", KernelChoice::kReference, x, dy).y;
    double s = 0;
    for (int64_t i = 0; i < y.numel(); ++i) s += double(y.data<float>()[i]) * dy.data<float>()[i];
    return s;
  };
  for (size_t k = 0; k < 3; ++k)
    for (int64_t i = 0; i < in[k].numel(); ++i) {
      std::vector<Tensor> plus = {in[0].clone(), in[1].clone(), in[2].clone()};
      std::vector<Tensor> minus = {in[0].clone(), in[1].clone(), in[2].clone()};
      plus[k].data<float>()[i] += 1e-2f;
      minus[k].data<float>()[i] -= 1e-2f;
      const double numeric = (loss(plus) - loss(minus)) / 2e-2;
      EXPECT_NEAR(r.grads[k].data<float>()[i], numeric, 1e-2) << "input " << k << " element " << i;
    }
}

}  // namespace
}  // namespace frugal::train

namespace frugal::train {
namespace {

// The block weights and the bias are parameters the optimizer updates.
TEST(BlockCirculantGrad, ItsWeightAndBiasAreTrainable) {
  ir::Graph g;
  g.initializers["w"] = random_tensor({2, 3, 4}, 1);
  g.initializers["b"] = random_tensor({8}, 2);
  ir::Node n = node_for({{1, 12}, -1, 8, 4}, "fftw");
  n.inputs = {"x", "w", "b"};
  n.outputs = {"y"};
  g.nodes.push_back(n);
  EXPECT_EQ(trainable_initializers(g), (std::vector<std::string>{"w", "b"}));
}

}  // namespace
}  // namespace frugal::train
