// The oneDNN-primitive training kernels (KernelChoice::kOneDnn, train/onednn_train.h)
// against the reference loops: Conv's forward, dX, dW and dB over groups (1, 2,
// depthwise) x stride (1, 2) x pad (0, 1) x dilation (1, 2) x kernel (1, 3, 5) x batch
// (1, 3), with and without bias, in both layouts (plain NCHW and blocked); MaxPool / AveragePool
// (counting padding or not) over kernel x stride x pad x ceil_mode (x dilation for MaxPool) x
// batch, and GlobalAveragePool; forward output and dX. Plus: one op instance serving several batch
// sizes (its primitive cache), run-to-run bit identity at 2 threads, and an emulated
// accumulator falling back to the gemm path bit for bit. The finite-difference checks of
// the kOneDnn path run in grad_check_test.cpp (check_both runs every kernel choice).
//
// Tolerance: the reference sums in double (forward) or in float in its own order, oneDNN
// in float in its order; sums here have at most a few hundred terms of order 1, so
// |onednn - ref| <= 1e-4 (1 + |ref|).
#include <gtest/gtest.h>

#include <cmath>
#include <string>

#include "frugal/core/rng.h"
#include "frugal/kernels/cpu/threads.h"
#include "frugal/numeric/format.h"
#include "frugal/train/grad_op.h"
#include "frugal/train/onednn_train.h"

namespace frugal::train {
namespace {

Tensor random_tensor(const Shape& s, uint64_t stream, float scale = 1.0f) {
  Tensor t(DType::kF32, s);
  Philox rng(2468, stream);
  for (int64_t i = 0; i < t.numel(); ++i)
    t.data<float>()[i] = scale * rng.normal(static_cast<uint64_t>(i));
  return t;
}

ir::Attribute ints(std::vector<int64_t> v) {
  return ir::Attribute{std::move(v)};
}

ir::Node node(std::string op, std::vector<std::string> in,
              std::map<std::string, ir::Attribute> attrs) {
  ir::Node n;
  n.name = op + "_node";
  n.op_type = std::move(op);
  n.inputs = std::move(in);
  n.outputs = {"y"};
  n.attrs = std::move(attrs);
  return n;
}

std::unique_ptr<GradOp> make_op(const ir::Node& n, const KernelConfig& k) {
  const GradOpFactory* f = find_grad_op(n.op_type);
  EXPECT_NE(f, nullptr) << n.op_type;
  return (*f)(n, 19, k);
}

// Number of elements out of tolerance (reported with the first one's index).
void expect_close(const Tensor& got, const Tensor& want, const std::string& what) {
  ASSERT_TRUE(got.defined()) << what;
  ASSERT_EQ(got.shape(), want.shape()) << what;
  int64_t bad = 0, first = -1;
  for (int64_t i = 0; i < got.numel(); ++i) {
    const float g = got.data<float>()[i], w = want.data<float>()[i];
    if (!(std::abs(g - w) <= 1e-4f * (1.0f + std::abs(w)))) {
      if (first < 0) first = i;
      ++bad;
    }
  }
  EXPECT_EQ(bad, 0) << what << ": first at " << first << ": " << got.data<float>()[first]
                    << " vs reference " << want.data<float>()[first];
}

// Forward (training, then inference) and backward of `n` on both kernels; in[0] is x.
void compare_with_reference(const ir::Node& n, const std::vector<Tensor>& in,
                            const std::vector<bool>& need, const std::string& what) {
  auto ref = make_op(n, KernelChoice::kReference);
  auto dnn = make_op(n, KernelChoice::kOneDnn);
  ForwardState st;
  const Tensor y_ref = ref->forward(in, st)[0];
  const Tensor y_dnn = dnn->forward(in, st)[0];
  expect_close(y_dnn, y_ref, what + " forward");
  // The evaluation forward (inference primitives) computes the same.
  ForwardState eval;
  eval.training = false;
  expect_close(dnn->forward(in, eval)[0], y_ref, what + " inference forward");
  const Tensor dy = random_tensor(y_ref.shape(), 31);
  const std::vector<Tensor> d_ref = ref->backward(in, {y_ref}, {dy}, need);
  const std::vector<Tensor> d_dnn = dnn->backward(in, {y_dnn}, {dy}, need);
  ASSERT_EQ(d_ref.size(), d_dnn.size());
  const char* names[] = {"dX", "dW", "dB"};
  for (size_t i = 0; i < need.size(); ++i)
    if (need[i]) expect_close(d_dnn[i], d_ref[i], what + " " + names[i]);
}

// Runs `body` with convolution primitives built in each layout (plain NCHW, and the blocked
// layouts oneDNN picks behind reorders), restoring the setting after.
template <typename F>
void in_both_layouts(F&& body) {
  const OnednnLayout before = onednn_train_layout();
  for (OnednnLayout l : {OnednnLayout::kPlain, OnednnLayout::kBlocked}) {
    SCOPED_TRACE(l == OnednnLayout::kPlain ? "plain layout" : "blocked layout");
    set_onednn_train_layout(l);
    body();
  }
  set_onednn_train_layout(before);
}

struct ConvCase {
  int64_t n, c, m, group, k, stride, pad, dil;
  bool bias;
  std::string name() const {
    return "conv n=" + std::to_string(n) + " c=" + std::to_string(c) + " m=" + std::to_string(m) +
           " group=" + std::to_string(group) + " k=" + std::to_string(k) +
           " stride=" + std::to_string(stride) + " pad=" + std::to_string(pad) +
           " dil=" + std::to_string(dil) + (bias ? " bias" : "");
  }
};

ir::Node conv_node(const ConvCase& c) {
  std::vector<std::string> ins{"x", "W"};
  if (c.bias) ins.push_back("B");
  return node("Conv", ins,
              {{"strides", ints({c.stride, c.stride})},
               {"pads", ints({c.pad, c.pad, c.pad, c.pad})},
               {"dilations", ints({c.dil, c.dil})},
               {"group", ir::Attribute{c.group}}});
}

std::vector<Tensor> conv_inputs(const ConvCase& c, int64_t h, int64_t w) {
  std::vector<Tensor> in{random_tensor({c.n, c.c, h, w}, 1),
                         random_tensor({c.m, c.c / c.group, c.k, c.k}, 2, 0.5f)};
  if (c.bias) in.push_back(random_tensor({c.m}, 3));
  return in;
}

TEST(OnednnBackward, ConvMatrixAgainstReference) {
  int cases = 0;
  in_both_layouts([&] {
    for (int groups = 0; groups < 3; ++groups)  // 1, 2, depthwise
      for (int64_t stride : {1, 2})
        for (int64_t pad : {0, 1})
          for (int64_t dil : {1, 2})
            for (int64_t k : {1, 3, 5})
              for (int64_t n : {1, 3}) {
                ConvCase c{n, 4, 6, 1, k, stride, pad, dil, (cases % 2) == 0};
                if (groups == 1) c.group = 2;
                if (groups == 2) c.m = c.group = 4;
                const std::string what = c.name();
                SCOPED_TRACE(what);
                // 10 x 9 input: a 5x5 kernel with dilation 2 (extent 9) fits without padding.
                const std::vector<Tensor> in = conv_inputs(c, 10, 9);
                // Every fourth case without dX (a first layer).
                std::vector<bool> need{cases % 4 != 1, true};
                if (c.bias) need.push_back(true);
                compare_with_reference(conv_node(c), in, need, what);
                ++cases;
              }
  });
  EXPECT_EQ(cases, 2 * 144);
}

TEST(OnednnBackward, ConvAsymmetricPadsAndRectangularKernel) {
  in_both_layouts([] {
    // pads (top 0, left 1, bottom 2, right 0), a 3x2 kernel, strides 2x1.
    const ir::Node n =
        node("Conv", {"x", "W", "B"}, {{"strides", ints({2, 1})}, {"pads", ints({0, 1, 2, 0})}});
    const std::vector<Tensor> in{random_tensor({2, 3, 7, 6}, 4), random_tensor({5, 3, 3, 2}, 5),
                                 random_tensor({5}, 6)};
    compare_with_reference(n, in, {true, true, true}, "asymmetric pads");
    const ir::Node same =
        node("Conv", {"x", "W"},
             {{"auto_pad", ir::Attribute{std::string("SAME_UPPER")}}, {"strides", ints({2, 2})}});
    compare_with_reference(same, {in[0], random_tensor({4, 3, 4, 4}, 7)}, {true, true},
                           "auto_pad SAME_UPPER, even kernel");
  });
}

TEST(OnednnBackward, OneOpServesSeveralBatchSizes) {
  in_both_layouts([] {
    // Training batches, the last short batch and an evaluation batch through one instance:
    // each shape gets its own primitives, and each result still matches the reference.
    const ConvCase c{3, 4, 6, 2, 3, 1, 1, 1, true};
    auto dnn = make_op(conv_node(c), KernelChoice::kOneDnn);
    auto ref = make_op(conv_node(c), KernelChoice::kReference);
    auto pool_dnn =
        make_op(node("MaxPool", {"x"}, {{"kernel_shape", ints({2, 2})}, {"strides", ints({2, 2})}}),
                KernelChoice::kOneDnn);
    auto pool_ref =
        make_op(node("MaxPool", {"x"}, {{"kernel_shape", ints({2, 2})}, {"strides", ints({2, 2})}}),
                KernelChoice::kReference);
    for (int64_t batch : {3, 1, 5, 3, 1}) {
      SCOPED_TRACE("batch " + std::to_string(batch));
      ConvCase b = c;
      b.n = batch;
      const std::vector<Tensor> in = conv_inputs(b, 8, 8);
      const Tensor y = dnn->forward(in, {})[0];
      expect_close(y, ref->forward(in, {})[0], "conv forward");
      const Tensor dy = random_tensor(y.shape(), 8);
      const auto d = dnn->backward(in, {y}, {dy}, {true, true, true});
      const auto e = ref->backward(in, {y}, {dy}, {true, true, true});
      for (size_t i = 0; i < 3; ++i) expect_close(d[i], e[i], "conv grad " + std::to_string(i));
      const Tensor py = pool_dnn->forward({y}, {})[0];
      expect_close(py, pool_ref->forward({y}, {})[0], "pool forward");
      const Tensor pdy = random_tensor(py.shape(), 9);
      expect_close(pool_dnn->backward({y}, {py}, {pdy}, {true})[0],
                   pool_ref->backward({y}, {py}, {pdy}, {true})[0], "pool dX");
    }
  });
}

struct PoolCase {
  std::string op;
  int64_t n, k, stride, pad, dil;
  bool ceil, include_pad;
};

TEST(OnednnBackward, PoolingMatrixAgainstReference) {
  int cases = 0;
  for (const char* op : {"MaxPool", "AveragePool", "AveragePoolIncludePad"})
    for (int64_t k : {2, 3})
      for (int64_t stride : {1, 2})
        for (int64_t pad : {0, 1})
          for (int ceil = 0; ceil < 2; ++ceil)
            for (int64_t dil : {1, 2})
              for (int64_t n : {1, 3}) {
                const bool max = std::string(op) == "MaxPool";
                if (!max && dil != 1) continue;  // AveragePool's dilations: opset 19 only
                std::map<std::string, ir::Attribute> attrs{
                    {"kernel_shape", ints({k, k})},
                    {"strides", ints({stride, stride})},
                    {"pads", ints({pad, pad, pad, pad})},
                    {"ceil_mode", ir::Attribute{int64_t{ceil}}}};
                if (max) attrs["dilations"] = ints({dil, dil});
                if (std::string(op) == "AveragePoolIncludePad")
                  attrs["count_include_pad"] = ir::Attribute{int64_t{1}};
                const ir::Node pn = node(max ? "MaxPool" : "AveragePool", {"x"}, attrs);
                const std::string what = std::string(op) + " k=" + std::to_string(k) +
                                         " stride=" + std::to_string(stride) +
                                         " pad=" + std::to_string(pad) +
                                         " ceil=" + std::to_string(ceil) +
                                         " dil=" + std::to_string(dil) + " n=" + std::to_string(n);
                SCOPED_TRACE(what);
                compare_with_reference(pn, {random_tensor({n, 3, 7, 6}, 10)}, {true}, what);
                ++cases;
              }
  EXPECT_EQ(cases, 128);
}

TEST(OnednnBackward, GlobalAveragePool) {
  const ir::Node n = node("GlobalAveragePool", {"x"}, {});
  for (const Shape& s : {Shape{1, 3, 7, 6}, Shape{3, 5, 1, 1}, Shape{2, 16, 7, 7}}) {
    SCOPED_TRACE(shape_str(s));
    compare_with_reference(n, {random_tensor(s, 12)}, {true}, "GlobalAveragePool");
  }
}

TEST(OnednnBackward, SameResultsTwiceAtTwoThreads) {
  in_both_layouts([] {
    const int before = kernels::cpu::num_threads();
    kernels::cpu::set_num_threads(2);
    const ConvCase c{3, 8, 16, 1, 3, 1, 1, 1, true};
    const std::vector<Tensor> in = conv_inputs(c, 14, 14);
    std::vector<std::vector<Tensor>> runs;
    for (int r = 0; r < 2; ++r) {
      auto op = make_op(conv_node(c), KernelChoice::kOneDnn);
      const Tensor y = op->forward(in, {})[0];
      std::vector<Tensor> out =
          op->backward(in, {y}, {random_tensor(y.shape(), 13)}, {true, true, true});
      out.push_back(y);
      runs.push_back(out);
    }
    kernels::cpu::set_num_threads(before);
    for (size_t i = 0; i < runs[0].size(); ++i) EXPECT_TRUE(runs[0][i].equals(runs[1][i])) << i;
  });
}

TEST(OnednnBackward, EmulatedAccumulatorRunsTheGemmPath) {
  // ACC runs keep the kernels they were tested with: kOneDnn with an accumulator is kFast,
  // bit for bit (Conv and pooling).
  kernels::emu::Accumulator fp16;
  fp16.format = numeric::parse_format("fp16");
  const ConvCase c{2, 4, 6, 2, 3, 2, 1, 1, true};
  const std::vector<Tensor> in = conv_inputs(c, 9, 9);
  auto a = make_op(conv_node(c), KernelConfig(KernelChoice::kOneDnn, fp16));
  auto b = make_op(conv_node(c), KernelConfig(KernelChoice::kFast, fp16));
  const Tensor ya = a->forward(in, {})[0], yb = b->forward(in, {})[0];
  EXPECT_TRUE(ya.equals(yb));
  const Tensor dy = random_tensor(ya.shape(), 14);
  const auto da = a->backward(in, {ya}, {dy}, {true, true, true});
  const auto db = b->backward(in, {yb}, {dy}, {true, true, true});
  for (size_t i = 0; i < 3; ++i) EXPECT_TRUE(da[i].equals(db[i])) << i;
  const ir::Node avg =
      node("AveragePool", {"x"}, {{"kernel_shape", ints({3, 3})}, {"pads", ints({1, 1, 1, 1})}});
  auto pa = make_op(avg, KernelConfig(KernelChoice::kOneDnn, fp16));
  auto pb = make_op(avg, KernelConfig(KernelChoice::kFast, fp16));
  EXPECT_TRUE(pa->forward({in[0]}, {})[0].equals(pb->forward({in[0]}, {})[0]));
}

}  // namespace
}  // namespace frugal::train
