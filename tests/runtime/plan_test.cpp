// The Session's compile stages (runtime/plan.h) one at a time, `auto` backend resolution,
// copy steps between devices, caller-owned outputs and per-run thread counts.
#include <gtest/gtest.h>

#include <cstring>
#include <limits>
#include <thread>

#include "frugal/core/rng.h"
#include "frugal/kernels/threads.h"
#include "frugal/runtime/session.h"
#include "frugal/zoo/zoo.h"

#include "runtime/graph_testing.h"

using namespace frugal;

namespace {

// A device whose memory host code may not read directly (as a GPU's), backed here by host
// memory so that the test can check what the copies moved.
class FarDevice final : public Device {
 public:
  FarDevice() : Device(DeviceKind::kModel, 7, "far:7", 0, {}) {}
  bool shares_host_memory() const override { return false; }
  void copy_from_host(void* dst, const void* src, size_t bytes) const override {
    std::memcpy(dst, src, bytes);
    bytes_in += bytes;
  }
  void copy_to_host(void* dst, const void* src, size_t bytes) const override {
    std::memcpy(dst, src, bytes);
    bytes_out += bytes;
  }
  mutable size_t bytes_in = 0, bytes_out = 0;
};

FarDevice& far_device() {
  static FarDevice d;
  return d;
}

// Runs Relu and Add with ref's kernels on the far device, declining everything else.
class FarBackend final : public kernels::Backend {
 public:
  FarBackend() : ref_(kernels::make_backend("ref")) {}
  std::string name() const override { return "test:far"; }
  std::unique_ptr<kernels::Kernel> create(const kernels::NodeView& v, std::string& why) override {
    if (v.node.op_type != "Relu" && v.node.op_type != "Add") {
      why = "only Relu and Add";
      return nullptr;
    }
    return ref_->create(v, why);
  }
  const Device& device() const override { return far_device(); }

 private:
  std::unique_ptr<kernels::Backend> ref_;
};

FRUGAL_REGISTER_BACKEND(test_far, "test:far", [](const kernels::BackendConfig&) {
  return std::make_unique<FarBackend>();
});

using runtime_testing::node;
using runtime_testing::vi;

// y = Sigmoid(Relu(x)) + Relu(x): Relu and Add on the far device, Sigmoid on the host.
ir::Graph far_graph() {
  ir::Graph g;
  g.opsets[""] = 13;
  g.inputs.push_back(vi("x", {2, 8}));
  g.outputs.push_back(vi("y", {2, 8}));
  g.nodes.push_back(node("relu", "Relu", {"x"}, {"r"}));
  g.nodes.push_back(node("sig", "Sigmoid", {"r"}, {"s"}));
  g.nodes.push_back(node("add", "Add", {"s", "r"}, {"y"}));
  g.validate_and_sort();
  return g;
}

Tensor random_input(const Shape& shape, uint64_t seed) {
  Tensor x(DType::kF32, shape);
  Philox r(seed);
  for (int64_t i = 0; i < x.numel(); ++i) x.data<float>()[i] = r.normal(i);
  return x;
}

}  // namespace

TEST(Plan, AutoResolvesToTheFastestAvailableBackendsThenRef) {
  // cpu then ref, after a GPU backend only where this build has one and a GPU is present
  // (docs/architecture.md).
  std::vector<std::string> gpu;
  for (const auto& n : kernels::backend_names()) {
    const auto& t = kernels::backend_traits(n);
    if (t.auto_rank >= 0 && t.auto_rank < kernels::backend_traits("cpu").auto_rank &&
        (!t.available || t.available()))
      gpu.push_back(n);
  }
  auto with_gpu = [&](std::vector<std::string> rest) {
    rest.insert(rest.begin(), gpu.begin(), gpu.end());
    return rest;
  };
  EXPECT_EQ(kernels::auto_backends(), with_gpu({"cpu", "ref"}));
  EXPECT_EQ(kernels::resolve_backends({"auto"}), with_gpu({"cpu", "ref"}));
  std::vector<std::string> emu_first = with_gpu({"cpu", "ref"});
  emu_first.insert(emu_first.begin(), "emu");
  EXPECT_EQ(kernels::resolve_backends({"emu", "auto", "ref"}), emu_first);
  EXPECT_EQ(kernels::resolve_backends({"ref"}), (std::vector<std::string>{"ref"}));
  runtime::SessionOptions opt;
  opt.backends = {"auto"};
  runtime::Session s(zoo::build("lenet5", 0), opt);
  EXPECT_EQ(s.backends(), (std::vector<std::string>{"cpu", "ref"}));
  for (const auto& a : s.assignments()) EXPECT_EQ(a.backend, "cpu") << a.node_name;
}

TEST(Plan, PrecisionVariantsComeFromTheBackendTraits) {
  EXPECT_EQ(*kernels::with_precision({"cpu", "ref"}, "int8"),
            (std::vector<std::string>{"cpu:int8", "cpu", "ref"}));
  EXPECT_EQ(*kernels::with_precision({"auto"}, "bf16"),
            (std::vector<std::string>{"cpu:bf16", "ref"}));
  EXPECT_EQ(*kernels::with_precision({"cpu:int8", "cpu", "ref"}, "fp32"),
            (std::vector<std::string>{"cpu", "ref"}));
  EXPECT_FALSE(kernels::with_precision({"ref"}, "int8").has_value());
  EXPECT_TRUE(kernels::backend_traits("cpu:int8").reads_ranges);
  EXPECT_FALSE(kernels::backend_traits("cpu").reads_ranges);
}

// The stages run one by one on a Plan, as compile() runs them.
TEST(Plan, StagesRunAlone) {
  runtime::Plan p;
  p.options.backends = {"cpu", "ref"};
  p.options.threads = 2;
  p.graph = zoo::build("resnet18", 0);
  runtime::fold_qdq(p);
  EXPECT_EQ(p.qdq_pairs_folded, 0u);
  runtime::make_backends(p);
  ASSERT_EQ(p.default_list.size(), 2u);
  runtime::optimize(p);
  EXPECT_FALSE(p.passes.empty());
  runtime::plan_threads(p);
  ASSERT_EQ(p.node_threads.size(), p.graph.nodes.size());
  // The first convolution (118M MACs) is worth two threads; the final Flatten is not.
  size_t ones = 0, twos = 0;
  for (int t : p.node_threads) (t == 1 ? ones : twos) += 1;
  EXPECT_GT(ones, 0u);
  EXPECT_GT(twos, 0u);
  EXPECT_EQ(p.node_threads.front(), 2);
  runtime::place(p);
  EXPECT_EQ(p.steps.size(), p.assignments.size());
  runtime::find_fallbacks(p);
  runtime::insert_transfers(p);
  EXPECT_TRUE(p.transfers.empty()) << "cpu and ref share host memory";
  runtime::plan_liveness(p);
  size_t freed = 0;
  for (const auto& st : p.steps) freed += st.free_after.size();
  EXPECT_GT(freed, 0u);
  runtime::negotiate_quantized(p);
  EXPECT_TRUE(p.quantized_values.empty());
  runtime::plan_concat_in_place(p);
  EXPECT_EQ(p.concats_in_place, 0u) << "resnet18 has no Concat";
  runtime::negotiate_layouts(p);
  EXPECT_GT(p.native_layout_values, 0u);
  runtime::plan_memory_per_device(p);
  ASSERT_EQ(p.arenas.size(), 1u);
  EXPECT_EQ(p.arenas[0].device, &host_device());
  EXPECT_GE(p.arenas[0].bytes, p.arenas[0].lower_bound);
}

// int8 multiply-accumulates run about 4x faster than fp32 ones: an int8 convolution of a
// few microseconds stays on one thread where its fp32 form is worth two.
TEST(Plan, ThreadPlanCountsInt8MacsFaster) {
  auto threads_with = [](std::vector<std::string> backends) {
    runtime::Plan p;
    p.options.backends = std::move(backends);
    p.options.threads = 2;
    p.options.infer.batch = 4;  // a run long enough for two threads (plan_threads' tiny runs)
    p.graph = zoo::build("resnet8_fmnist", 0);
    runtime::fold_qdq(p);
    runtime::make_backends(p);
    runtime::optimize(p);
    runtime::plan_threads(p);
    return p.node_threads;
  };
  const std::vector<int> fp32 = threads_with({"cpu", "ref"});
  const std::vector<int> int8 = threads_with({"cpu:int8", "cpu", "ref"});
  ASSERT_EQ(fp32.size(), int8.size());
  size_t fewer = 0;
  for (size_t k = 0; k < fp32.size(); ++k) {
    EXPECT_LE(int8[k], fp32[k]) << "node " << k;
    fewer += int8[k] < fp32[k];
  }
  EXPECT_GT(fewer, 0u);
}

// The thread rule over made-up graphs: a node over the threshold but alone among one-thread
// work longer than 4x the time workers stay awake (they have gone to sleep) stays on one
// thread unless it is 4x larger.
TEST(Plan, IsolatedSmallNodesStayOnOneThread) {
  const double inf = std::numeric_limits<double>::infinity();
  using V = std::vector<int>;
  // Workers never sleep: the threshold alone decides.
  EXPECT_EQ(runtime::threads_per_node({40, 60, 100, 10}, 2, 50, inf), (V{1, 2, 2, 1}));
  // LeNet-5 at batch 8: conv2 (74 us) after 119 us of one-thread work (the run before
  // included), workers awake 25 us: one thread.
  EXPECT_EQ(runtime::threads_per_node({49, 19, 74, 6, 3, 34, 7, 1}, 2, 50, 25),
            (V{1, 1, 1, 1, 1, 1, 1, 1}));
  // Awake 100 us (GOMP_SPINCOUNT=10000): 119 us is not 4x that, the node keeps two threads.
  EXPECT_EQ(runtime::threads_per_node({49, 19, 74, 6, 3, 34, 7, 1}, 2, 50, 100),
            (V{1, 1, 2, 1, 1, 1, 1, 1}));
  // The same node four times larger pays the wake-up back; after exactly 4x25 us it is awake.
  EXPECT_EQ(runtime::threads_per_node({49, 19, 200, 6, 3, 34, 7, 1}, 2, 50, 25),
            (V{1, 1, 2, 1, 1, 1, 1, 1}));
  EXPECT_EQ(runtime::threads_per_node({30, 19, 74, 6, 3, 34, 7, 1}, 2, 50, 25),
            (V{1, 1, 2, 1, 1, 1, 1, 1}));
  // Back-to-back parallel nodes keep the workers awake: a 60 us node right after a
  // parallel one stays parallel, and the stretch wraps around from the end of the run.
  EXPECT_EQ(runtime::threads_per_node({60, 300, 60, 10, 60}, 2, 50, 3), (V{2, 2, 2, 1, 2}));
  // Workers asleep at once (awake 0): every node after one-thread work must be large.
  EXPECT_EQ(runtime::threads_per_node({60, 300, 60, 10, 60}, 2, 50, 0), (V{1, 2, 2, 1, 1}));
  // One thread, or threshold 0: untouched.
  EXPECT_EQ(runtime::threads_per_node({1, 1000}, 1, 50, 0), (V{1, 1}));
  EXPECT_EQ(runtime::threads_per_node({1, 1000}, 2, 0, 0), (V{2, 2}));
}

TEST(Plan, TinyRunsStayOnOneThreadAtAnyBatch) {
  // LeNet-5 at batch 8: conv2 alone would pass the per-node rule, the whole run (about
  // 190 us) cannot pay for a late wake-up.
  runtime::SessionOptions opt;
  opt.backends = {"cpu", "ref"};
  opt.threads = 2;
  opt.infer.batch = 8;
  runtime::Session s(zoo::build("lenet5", 0), opt);
  for (const auto& a : s.assignments()) EXPECT_EQ(a.threads, 1) << a.node_name;
  // A larger run keeps its parallel nodes.
  opt.infer.batch = 64;
  runtime::Session big(zoo::build("lenet5", 0), opt);
  int parallel = 0;
  for (const auto& a : big.assignments()) parallel += a.threads == 2;
  EXPECT_GT(parallel, 0);
}

TEST(Plan, SmallModelsRunSingleThreadedUnlessAsked) {
  runtime::SessionOptions opt;
  opt.backends = {"cpu", "ref"};
  opt.threads = 2;
  const ir::Graph g = zoo::build("lenet5", 0);
  runtime::Session s(g, opt);
  for (const auto& a : s.assignments()) EXPECT_EQ(a.threads, 1) << a.node_name;
  opt.parallel_min_us = 0;
  runtime::Session all(g, opt);
  for (const auto& a : all.assignments()) EXPECT_EQ(a.threads, 2) << a.node_name;
  const Tensor x = random_input(s.inputs()[0].shape, 3);
  EXPECT_TRUE(s.run({x})[0].equals(runtime::Session(g,
                                                    [&] {
                                                      auto o = opt;
                                                      o.threads = 1;
                                                      return o;
                                                    }())
                                       .run({x})[0]));
}

TEST(Plan, CopiesAreInsertedWhereADeviceCannotReadAValue) {
  const ir::Graph g = far_graph();
  runtime::SessionOptions opt;
  opt.backends = {"test:far", "ref"};
  runtime::Session s(g, opt);
  // x to the device for relu; r back for sig; s to the device for add; y back for the caller.
  ASSERT_EQ(s.transfers().size(), 4u);
  EXPECT_EQ(s.transfers()[0].value, "x");
  EXPECT_EQ(s.transfers()[0].from, "host");
  EXPECT_EQ(s.transfers()[0].to, "far:7");
  EXPECT_EQ(s.transfers()[0].bytes, 2u * 8 * 4);
  EXPECT_EQ(s.transfers()[1].value, "r");
  EXPECT_EQ(s.transfers()[1].to, "host");
  EXPECT_EQ(s.transfers()[3].value, "y");
  size_t copies = 0;
  for (const auto& a : s.assignments()) copies += a.op_type == "Copy";
  EXPECT_EQ(copies, 4u);
  EXPECT_EQ(s.arenas().size(), 2u);  // values planned on the host and on the device

  runtime::SessionOptions ref;
  ref.backends = {"ref"};
  runtime::Session oracle(g, ref);
  const Tensor x = random_input({2, 8}, 5);
  const size_t in = far_device().bytes_in, out = far_device().bytes_out;
  EXPECT_TRUE(s.run({x})[0].equals(oracle.run({x})[0]));
  EXPECT_EQ(far_device().bytes_in - in, 2u * 64);
  EXPECT_EQ(far_device().bytes_out - out, 2u * 64);
}

TEST(Plan, OutputsPassedInAreWrittenInPlace) {
  const ir::Graph g = zoo::build("lenet5", 0);
  runtime::SessionOptions opt;
  opt.backends = {"cpu", "ref"};
  runtime::Session s(g, opt);
  const Tensor x = random_input(s.inputs()[0].shape, 4);
  std::vector<Tensor> out{Tensor(DType::kF32, s.outputs()[0].shape)};
  const void* buffer = out[0].raw();
  s.run({x}, out);
  EXPECT_EQ(out[0].raw(), buffer);
  EXPECT_TRUE(out[0].equals(s.run({x})[0]));
  std::vector<Tensor> wrong{Tensor(DType::kF32, {3})};
  EXPECT_THROW(s.run({x}, wrong), UserError);
}

namespace {
struct ThreadsSeen final : runtime::NodeObserver {
  void before(size_t) override { seen.push_back(kernels::threads()); }
  std::vector<int> seen;
};
}  // namespace

// A session built on one thread runs on another with the count it was built with (and
// its per-step choices), and leaves that thread's count as it found it.
TEST(Plan, RunsOnAnyThreadWithItsOwnThreadCount) {
  runtime::SessionOptions opt;
  opt.backends = {"cpu", "ref"};
  opt.threads = 2;
  runtime::Session s(zoo::build("resnet18", 0), opt);
  const Tensor x = random_input(s.inputs()[0].shape, 6);
  const Tensor expected = s.run({x})[0];
  ThreadsSeen seen;
  s.set_observer(&seen);
  Tensor got;
  int after = 0;
  std::thread worker([&] {
    kernels::set_threads(1);
    got = s.run({x})[0];
    after = kernels::threads();
  });
  worker.join();
  s.set_observer(nullptr);
  EXPECT_TRUE(got.equals(expected));
  EXPECT_EQ(after, 1);
  ASSERT_EQ(seen.seen.size(), s.assignments().size());
  for (size_t i = 0; i < seen.seen.size(); ++i)
    EXPECT_EQ(seen.seen[i], s.assignments()[i].threads) << s.assignments()[i].node_name;
}

// Issue 24: --threads 100000 crashed inside libgomp while a conv kernel was built; the bound
// is checked once in the library, before any kernel exists.
TEST(Plan, ThreadCountIsBoundedBeforeAnyKernelIsBuilt) {
  runtime::SessionOptions o;
  o.backends = {"cpu", "ref"};
  for (int n : {100000, 32768, kernels::kMaxThreads + 1}) {
    o.threads = n;
    try {
      runtime::Session s(zoo::build("lenet5", 0), o);
      ADD_FAILURE() << "no error for " << n;
    } catch (const UserError& e) {
      EXPECT_NE(
          std::string(e.what()).find("--threads: " + std::to_string(n) + " is outside 1..1024"),
          std::string::npos)
          << e.what();
    }
  }
  EXPECT_THROW(kernels::set_threads(0), UserError);
  o.threads = kernels::kMaxThreads;
  EXPECT_NO_THROW(kernels::check_thread_count(o.threads));
}
