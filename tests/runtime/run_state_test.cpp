// A Session's per-run state (runtime/session.cpp RunState): constants, arena views and
// kernel contexts are bound once, so that a loop of runs into caller buffers allocates
// nothing, and the returning run allocates as much for 40 steps as for 4. Counted with a
// replacement of the global operator new in this test binary (malloc/free underneath, as
// the default ones, so that sanitizer builds see matching pairs).
#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <new>

#include "frugal/core/rng.h"
#include "frugal/runtime/session.h"
#include "frugal/zoo/zoo.h"

#include "runtime/graph_testing.h"

namespace {
std::atomic<bool> counting{false};
std::atomic<long> allocations{0};

void* counted_malloc(std::size_t n) {
  if (counting.load(std::memory_order_relaxed)) allocations.fetch_add(1);
  if (void* p = std::malloc(n ? n : 1)) return p;
  throw std::bad_alloc();
}
}  // namespace

void* operator new(std::size_t n) {
  return counted_malloc(n);
}
void* operator new[](std::size_t n) {
  return counted_malloc(n);
}
void operator delete(void* p) noexcept {
  std::free(p);
}
void operator delete[](void* p) noexcept {
  std::free(p);
}
void operator delete(void* p, std::size_t) noexcept {
  std::free(p);
}
void operator delete[](void* p, std::size_t) noexcept {
  std::free(p);
}

using namespace frugal;

namespace {

// Relu and same-shape float32 Add over raw pointers: kernels that allocate nothing, so
// that what the count sees is the runtime's own work.
class PlainKernel final : public kernels::Kernel {
 public:
  explicit PlainKernel(bool add) : add_(add) {}
  void run(ops::KernelContext& ctx) override {
    const float* a = ctx.input(0).data<float>();
    const float* b = add_ ? ctx.input(1).data<float>() : nullptr;
    float* y = ctx.output(0).data<float>();
    for (int64_t i = 0; i < ctx.output(0).numel(); ++i)
      y[i] = add_ ? a[i] + b[i] : (a[i] > 0 ? a[i] : 0);
  }
  std::string impl() const override { return add_ ? "plain add" : "plain relu"; }

 private:
  bool add_;
};

class PlainBackend final : public kernels::Backend {
 public:
  std::string name() const override { return "test:plain"; }
  std::unique_ptr<kernels::Kernel> create(const kernels::NodeView& v, std::string& why) override {
    if (v.node.op_type != "Relu" && v.node.op_type != "Add") {
      why = "only Relu and Add";
      return nullptr;
    }
    return std::make_unique<PlainKernel>(v.node.op_type == "Add");
  }
};

FRUGAL_REGISTER_BACKEND(test_plain, "test:plain", [](const kernels::BackendConfig&) {
  return std::make_unique<PlainBackend>();
});

using runtime_testing::node;
using runtime_testing::vi;

// `blocks` times v = Relu(v) + w (a constant), then y = v + x: planned intermediates, a
// constant read by every block, an input read by the first and the last step.
ir::Graph chain(int blocks) {
  ir::Graph g;
  g.opsets[""] = 13;
  g.inputs.push_back(vi("x", {2, 8}));
  g.outputs.push_back(vi("y", {2, 8}));
  g.initializers["w"] = Tensor::from_vector<float>({2, 8}, std::vector<float>(16, 0.5f));
  std::string v = "x";
  for (int b = 0; b < blocks; ++b) {
    const std::string k = std::to_string(b);
    g.nodes.push_back(node("relu" + k, "Relu", {v}, {"r" + k}));
    g.nodes.push_back(node("add" + k, "Add", {"r" + k, "w"}, {"a" + k}));
    v = "a" + k;
  }
  g.nodes.push_back(node("out", "Add", {v, "x"}, {"y"}));
  g.validate_and_sort();
  return g;
}

runtime::SessionOptions plain_options() {
  runtime::SessionOptions opt;
  opt.backends = {"test:plain"};
  opt.optimize = false;  // keeps Relu and Add as the nodes the test backend takes
  opt.poison_arena = true;
  return opt;
}

Tensor ramp() {
  Tensor x(DType::kF32, {2, 8});
  for (int i = 0; i < 16; ++i) x.data<float>()[i] = static_cast<float>(i - 8);
  return x;
}

// Allocations of `runs` calls of f, after two warm-up calls.
template <typename F>
long allocations_of(int runs, F f) {
  f();
  f();
  allocations = 0;
  counting = true;
  for (int i = 0; i < runs; ++i) f();
  counting = false;
  return allocations.load();
}

}  // namespace

TEST(RunState, RunsIntoCallerBuffersAllocateNothing) {
  runtime::Session s(chain(4), plain_options());
  ASSERT_EQ(s.assignments().size(), 9u);
  const Tensor x = ramp();
  const std::vector<Tensor> inputs{x};
  std::vector<Tensor> outputs{Tensor(DType::kF32, {2, 8})};
  EXPECT_EQ(allocations_of(10, [&] { s.run(inputs, outputs); }), 0);
  // y = relu(...relu(relu(x) + .5)...) + x, four blocks.
  for (int i = 0; i < 16; ++i) {
    float v = x.data<float>()[i];
    for (int b = 0; b < 4; ++b) v = (v > 0 ? v : 0) + 0.5f;
    EXPECT_EQ(outputs[0].data<float>()[i], v + x.data<float>()[i]) << i;
  }
}

TEST(RunState, ReturningRunAllocatesTheSameForAnyNumberOfSteps) {
  runtime::Session short_chain(chain(2), plain_options()), long_chain(chain(20), plain_options());
  const std::vector<Tensor> inputs{ramp()};
  const long few = allocations_of(5, [&] { short_chain.run(inputs); });
  const long many = allocations_of(5, [&] { long_chain.run(inputs); });
  EXPECT_EQ(few, many);
  EXPECT_GT(few, 0);  // the output tensors and the vector returning them
  // The session drops its hold on a returned output: the next run writes a new one.
  auto y1 = short_chain.run(inputs);
  auto y2 = short_chain.run(inputs);
  EXPECT_NE(y1[0].raw(), y2[0].raw());
  EXPECT_TRUE(y1[0].equals(y2[0]));
}

// A graph output that is an input or a constant, read back through both run forms, and a
// run that throws (bad input) leaves the next run intact.
TEST(RunState, OutputsThatAreInputsOrConstantsAndFailedRuns) {
  ir::Graph g = chain(1);
  g.outputs.push_back(vi("x", {2, 8}));
  g.outputs.push_back(vi("w", {2, 8}));
  g.validate_and_sort();
  runtime::Session s(g, plain_options());
  const Tensor x = ramp();
  auto y = s.run({x});
  ASSERT_EQ(y.size(), 3u);
  EXPECT_TRUE(y[1].equals(x));
  EXPECT_EQ(y[2].data<float>()[3], 0.5f);
  EXPECT_THROW(s.run({Tensor(DType::kF32, {2, 9})}), UserError);
  std::vector<Tensor> outs{Tensor(DType::kF32, {2, 8}), Tensor(DType::kF32, {2, 8}),
                           Tensor(DType::kF32, {2, 8})};
  s.run({x}, outs);
  EXPECT_TRUE(outs[0].equals(y[0]));
  EXPECT_TRUE(outs[1].equals(x));
  EXPECT_NE(outs[1].raw(), x.raw());  // copied into the caller's buffer
  EXPECT_EQ(outs[2].data<float>()[15], 0.5f);
}

// Real kernels on a poisoned arena: every run of a zoo model gives the same bits, by
// either run form, at 1 and 2 threads.
TEST(RunState, PoisonedArenaRunsAreBitIdentical) {
  for (int threads : {1, 2}) {
    SCOPED_TRACE(threads);
    runtime::SessionOptions opt;
    opt.backends = {"cpu", "ref"};
    opt.threads = threads;
    opt.poison_arena = true;
    runtime::Session s(zoo::build("mobilenet_fmnist", 1), opt);
    Tensor x(DType::kF32, s.inputs()[0].shape);
    Philox r(3);
    for (int64_t i = 0; i < x.numel(); ++i) x.data<float>()[i] = r.normal(i);
    const auto first = s.run({x});
    std::vector<Tensor> outs{Tensor(first[0].dtype(), first[0].shape())};
    for (int run = 0; run < 3; ++run) {
      EXPECT_TRUE(s.run({x})[0].equals(first[0]));
      s.run({x}, outs);
      EXPECT_TRUE(outs[0].equals(first[0]));
    }
  }
}
