// The cpu backend as a Session sees it: what it accepts and reports, the reasons it
// declines, thread control and determinism, and fused post-ops (driven directly through
// Backend::create, as no graph pass produces them yet).
#include <gtest/gtest.h>

#include "frugal/kernels/cpu/threads.h"
#include "frugal/ops/op.h"
#include "kernels/cpu_testing.h"

using namespace frugal;
using namespace frugal::cpu_testing;

namespace {

OneNode small_conv(uint64_t seed = 1) {
  return one_node("Conv",
                  {input("x", random_tensor({1, 4, 9, 9}, seed)),
                   constant("w", random_tensor({6, 4, 3, 3}, seed + 1)),
                   constant("b", random_tensor({6}, seed + 2))},
                  {{"pads", attr(std::vector<int64_t>{1, 1, 1, 1})}});
}

bool contains(const std::string& s, const std::string& part) {
  return s.find(part) != std::string::npos;
}

}  // namespace

TEST(CpuBackend, ReportsOneDnnImplementation) {
  const Ran r = run_on("cpu", small_conv().graph, small_conv().feeds);
  ASSERT_EQ(r.assignments.size(), 1u);
  EXPECT_EQ(r.assignments[0].backend, "cpu");
  EXPECT_TRUE(r.assignments[0].declined.empty());
  EXPECT_EQ(r.assignments[0].impl.rfind("onednn:", 0), 0u) << r.assignments[0].impl;
  EXPECT_GT(r.assignments[0].impl.size(), std::string("onednn:").size());
}

TEST(CpuBackend, DeclinesWithReasonsAndFallsBackToRef) {
  // float64.
  Tensor x64 = random_tensor({1, 2, 5, 5}, 3).cast(DType::kF64);
  Tensor w64 = random_tensor({2, 2, 3, 3}, 4).cast(DType::kF64);
  OneNode f64 = one_node("Conv", {input("x", x64), constant("w", w64)});
  EXPECT_EQ(cpu_decline_reason(f64), "cpu: Conv: float64 not supported");
  const Ran fallback = run_on("cpu", f64.graph, f64.feeds);
  EXPECT_EQ(fallback.assignments[0].backend, "ref");
  EXPECT_EQ(fallback.outputs[0].dtype(), DType::kF64);

  // MaxPool's Indices output.
  OneNode indices = one_node("MaxPool", {input("x", random_tensor({1, 2, 6, 6}, 5))},
                             {{"kernel_shape", attr(std::vector<int64_t>{2, 2})}}, 17, 2);
  EXPECT_EQ(cpu_decline_reason(indices),
            "cpu: MaxPool: MaxPool with the Indices output not implemented");

  // An op without a cpu kernel.
  OneNode erf = one_node("Erf", {input("x", random_tensor({3, 4}, 6))});
  EXPECT_EQ(cpu_decline_reason(erf), "cpu: no cpu kernel for Erf");

  // LRN with an even window (oneDNN centres windows, ONNX does not).
  OneNode lrn =
      one_node("LRN", {input("x", random_tensor({1, 6, 3, 3}, 7))}, {{"size", attr(int64_t{4})}});
  EXPECT_EQ(cpu_decline_reason(lrn), "cpu: LRN: even size 4 not implemented");

  // Add where both operands broadcast.
  OneNode add =
      one_node("Add", {input("a", random_tensor({3, 1}, 8)), input("b", random_tensor({1, 4}, 9))});
  EXPECT_TRUE(contains(cpu_decline_reason(add), "broadcast of both operands"))
      << cpu_decline_reason(add);

  // Clip whose bound is only known at run time.
  OneNode clip = one_node("Clip", {input("x", random_tensor({3, 4}, 10)),
                                   input("lo", Tensor::from_vector<float>({}, {0.0f}))});
  EXPECT_TRUE(contains(cpu_decline_reason(clip), "min known only at run time"))
      << cpu_decline_reason(clip);
}

TEST(CpuBackend, BothBackendsRegistered) {
  const auto names = kernels::backend_names();
  EXPECT_NE(std::find(names.begin(), names.end(), "cpu"), names.end());
  EXPECT_NE(std::find(names.begin(), names.end(), "cpu:bf16"), names.end());
}

TEST(CpuBackend, ThreadCountIsHonouredAndResultsRepeat) {
  const int before = kernels::cpu::num_threads();
  EXPECT_THROW(kernels::cpu::set_num_threads(0), UserError);
  OneNode t = one_node("Conv",
                       {input("x", random_tensor({2, 16, 20, 20}, 20)),
                        constant("w", random_tensor({24, 16, 3, 3}, 21))},
                       {{"pads", attr(std::vector<int64_t>{1, 1, 1, 1})}});
  for (int threads : {1, 2}) {
    kernels::cpu::set_num_threads(threads);
    EXPECT_EQ(kernels::cpu::num_threads(), threads);
    runtime::SessionOptions opt;
    opt.backends = {"cpu"};
    runtime::Session s(t.graph, opt);
    const Tensor first = s.run(t.feeds)[0];
    for (int rep = 0; rep < 3; ++rep)
      EXPECT_TRUE(s.run(t.feeds)[0].equals(first)) << threads << " threads, run " << rep;
  }
  kernels::cpu::set_num_threads(before);
}

// ---- fused post-ops ----

namespace {

// A node plus the inferred info the backend sees, for driving Backend::create directly.
struct DirectNode {
  ir::Node node;
  std::vector<Tensor> inputs;  // undefined for omitted ones
  std::vector<bool> is_constant;
  Shape out_shape;
};

// Runs `d` on the cpu backend; returns the output, or fails with the decline reason.
Tensor run_direct(const DirectNode& d, std::string* why_not = nullptr) {
  std::vector<ops::TensorInfo> infos(d.inputs.size());
  std::vector<const ops::TensorInfo*> in_ptrs;
  for (size_t i = 0; i < d.inputs.size(); ++i) {
    if (!d.inputs[i].defined()) {
      in_ptrs.push_back(nullptr);
      continue;
    }
    infos[i] = {d.inputs[i].dtype(), d.inputs[i].shape(),
                d.is_constant[i] ? std::optional<Tensor>(d.inputs[i]) : std::nullopt};
    in_ptrs.push_back(&infos[i]);
  }
  ops::TensorInfo out_info{DType::kF32, d.out_shape, std::nullopt};
  kernels::NodeView view{d.node, 17, in_ptrs, {&out_info}, false};
  auto backend = kernels::make_backend("cpu");
  std::string why;
  auto kernel = backend->create(view, why);
  if (why_not) *why_not = why;
  if (!kernel) {
    if (!why_not) ADD_FAILURE() << "declined: " << why;
    return Tensor();
  }
  Tensor out(DType::kF32, d.out_shape);
  std::vector<const Tensor*> ins;
  for (const auto& t : d.inputs) ins.push_back(t.defined() ? &t : nullptr);
  ops::KernelContext ctx(d.node, 17, ins, {&out});
  kernel->run(ctx);
  return out;
}

// The reference result of the node without its post-ops, then `post` applied to each
// element (with the broadcast sum operand's element when there is one).
template <typename Post>
Tensor expected(const DirectNode& d, size_t own_inputs, Post post, const Tensor* sum = nullptr) {
  ir::Node plain = d.node;
  plain.attrs.erase("frugal.post_ops");
  plain.inputs.resize(own_inputs);
  std::vector<Tensor> ins(d.inputs.begin(), d.inputs.begin() + static_cast<long>(own_inputs));
  Tensor y = ops::evaluate(plain, 17, ins).at(0);
  float* v = y.data<float>();
  const Shape& s = y.shape();
  for (int64_t i = 0; i < y.numel(); ++i) {
    float addend = 0.0f;
    if (sum) {
      // Index of element i in the (broadcast) sum operand.
      const Shape& ss = sum->shape();
      int64_t rem = i, at = 0, stride = 1;
      for (size_t dim = s.size(); dim-- > 0;) {
        const int64_t coord = rem % s[dim];
        rem /= s[dim];
        const size_t sd = dim + ss.size() - s.size();
        if (dim + ss.size() >= s.size()) {
          if (ss[sd] != 1) at += coord * stride;
          stride *= ss[sd];
        }
      }
      addend = sum->data<float>()[at];
    }
    v[i] = post(v[i], addend);
  }
  return y;
}

DirectNode conv_node(std::vector<std::string> post_ops, const Shape& sum_shape = {}) {
  DirectNode d;
  d.node.name = "fused";
  d.node.op_type = "Conv";
  d.node.inputs = {"x", "w", "b"};
  d.node.outputs = {"y"};
  d.node.attrs["pads"] = attr(std::vector<int64_t>{1, 1, 1, 1});
  d.node.attrs["frugal.post_ops"] = attr(std::move(post_ops));
  d.inputs = {random_tensor({2, 3, 8, 8}, 31), random_tensor({5, 3, 3, 3}, 32),
              random_tensor({5}, 33)};
  d.is_constant = {false, true, true};
  d.out_shape = {2, 5, 8, 8};
  if (!sum_shape.empty()) {
    d.node.inputs.push_back("residual");
    d.inputs.push_back(random_tensor(sum_shape, 34));
    d.is_constant.push_back(false);
  }
  return d;
}

float relu(float v) {
  return v > 0 ? v : 0;
}

}  // namespace

TEST(CpuPostOps, ConvSumThenRelu) {
  const DirectNode d = conv_node({"sum", "relu"}, {2, 5, 8, 8});
  const Tensor got = run_direct(d);
  const Tensor want = expected(
      d, 3, [](float v, float s) { return relu(v + s); }, &d.inputs[3]);
  EXPECT_LE(relative_error(got, want), 1e-5);
}

TEST(CpuPostOps, ConvBroadcastSum) {
  const DirectNode d = conv_node({"sum"}, {1, 5, 1, 1});
  const Tensor want = expected(
      d, 3, [](float v, float s) { return v + s; }, &d.inputs[3]);
  EXPECT_LE(relative_error(run_direct(d), want), 1e-5);
}

TEST(CpuPostOps, ConvActivations) {
  EXPECT_LE(relative_error(
                run_direct(conv_node({"clip:0:6"})),
                expected(conv_node({}), 3, [](float v, float) { return std::min(6.0f, relu(v)); })),
            1e-5);
  EXPECT_LE(relative_error(run_direct(conv_node({"sigmoid"})),
                           expected(conv_node({}), 3,
                                    [](float v, float) { return 1.0f / (1.0f + std::exp(-v)); })),
            1e-5);
  EXPECT_LE(relative_error(
                run_direct(conv_node({"hardswish"})),
                expected(conv_node({}), 3,
                         [](float v, float) { return v * std::min(1.0f, relu(v / 6.0f + 0.5f)); })),
            1e-5);
  EXPECT_LE(relative_error(
                run_direct(conv_node({"hardsigmoid:0.2:0.5"})),
                expected(conv_node({}), 3,
                         [](float v, float) { return std::min(1.0f, relu(0.2f * v + 0.5f)); })),
            1e-5);
}

TEST(CpuPostOps, GemmAndMatMulSumRelu) {
  DirectNode g;
  g.node.op_type = "Gemm";
  g.node.inputs = {"a", "b", "c", "residual"};
  g.node.outputs = {"y"};
  g.node.attrs["transB"] = attr(int64_t{1});
  g.node.attrs["frugal.post_ops"] = attr(std::vector<std::string>{"sum", "relu"});
  g.inputs = {random_tensor({3, 10}, 40), random_tensor({6, 10}, 41), random_tensor({6}, 42),
              random_tensor({3, 6}, 43)};
  g.is_constant = {false, true, true, false};
  g.out_shape = {3, 6};
  EXPECT_LE(relative_error(run_direct(g),
                           expected(
                               g, 3, [](float v, float s) { return relu(v + s); }, &g.inputs[3])),
            1e-5);

  DirectNode m;
  m.node.op_type = "MatMul";
  m.node.inputs = {"a", "b", "residual"};
  m.node.outputs = {"y"};
  m.node.attrs["frugal.post_ops"] = attr(std::vector<std::string>{"sum", "clip:-1:1"});
  m.inputs = {random_tensor({2, 3, 10}, 44), random_tensor({10, 4}, 45), random_tensor({4}, 46)};
  m.is_constant = {false, true, false};
  m.out_shape = {2, 3, 4};
  EXPECT_LE(relative_error(
                run_direct(m),
                expected(
                    m, 2, [](float v, float s) { return std::max(-1.0f, std::min(1.0f, v + s)); },
                    &m.inputs[2])),
            1e-5);
}

TEST(CpuPostOps, BadPostOpsAreDeclined) {
  std::string why;
  run_direct(conv_node({"mish"}), &why);
  EXPECT_TRUE(contains(why, "'mish' is not a known post-op")) << why;
  run_direct(conv_node({"sum"}), &why);  // no sum operand
  EXPECT_TRUE(contains(why, "needs the sum operand")) << why;
  run_direct(conv_node({"sum"}, {2, 5, 8, 3}), &why);
  EXPECT_TRUE(contains(why, "does not broadcast")) << why;
  run_direct(conv_node({"clip:0"}), &why);
  EXPECT_TRUE(contains(why, "needs 2 parameters")) << why;

  DirectNode relu_node;
  relu_node.node.op_type = "Relu";
  relu_node.node.inputs = {"x"};
  relu_node.node.outputs = {"y"};
  relu_node.node.attrs["frugal.post_ops"] = attr(std::vector<std::string>{"relu"});
  relu_node.inputs = {random_tensor({4}, 1)};
  relu_node.is_constant = {false};
  relu_node.out_shape = {4};
  run_direct(relu_node, &why);
  EXPECT_EQ(why, "Relu: frugal.post_ops on Relu not implemented");
}
