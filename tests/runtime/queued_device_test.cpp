// The Session on a queued device (core/queued_device.h), without a GPU: a fake device whose
// "queue" is host code. Recording (device graphs): the first run is eager, the second
// records each stretch of device steps and replays it, later runs only replay; off,
// stale recordings and failed recordings. Device time by phase from queued timestamps,
// and per-step device time for profilers.
#include <gtest/gtest.h>

#include <cstring>
#include <functional>

#include "frugal/core/error.h"
#include "frugal/core/queued_device.h"
#include "frugal/core/rng.h"
#include "frugal/runtime/session.h"

#include "runtime/graph_testing.h"

using namespace frugal;

namespace {

// Host memory the host code may not read (as a GPU's). Its clock advances by 1 s per
// kernel, 0.25 s per copy in and 0.125 s per copy out, so that device times are exact.
class FakeQueue final : public Device, public QueuedDevice {
 public:
  FakeQueue() : Device(DeviceKind::kModel, 3, "queue:3", 0, {}) {}
  bool shares_host_memory() const override { return false; }
  void copy_from_host(void* dst, const void* src, size_t bytes) const override {
    std::memcpy(dst, src, bytes);
    clock += 0.25;
  }
  void copy_to_host(void* dst, const void* src, size_t bytes) const override {
    std::memcpy(dst, src, bytes);
    clock += 0.125;
  }

  struct Stamp final : Mark {
    double at = -1;
  };
  std::unique_ptr<Mark> make_mark() const override { return std::make_unique<Stamp>(); }
  void record(Mark& m) const override { static_cast<Stamp&>(m).at = clock; }
  double seconds_between(const Mark& a, const Mark& b) const override {
    return static_cast<const Stamp&>(b).at - static_cast<const Stamp&>(a).at;
  }

  struct Work final : Recording {
    std::vector<std::function<void()>> kernels;
    int generation = 0;
  };
  void begin_capture() const override {
    EXPECT_FALSE(capturing) << "nested capture";
    capturing = std::make_unique<Work>();
    capturing->generation = generation;
  }
  std::unique_ptr<Recording> end_capture() const override {
    auto w = std::move(capturing);
    if (fail_capture) throw InternalError("fake: capture refused");
    ++recordings;
    return w;
  }
  void abort_capture() const noexcept override { capturing.reset(); }
  bool replay(const Recording& r) const override {
    const auto& w = static_cast<const Work&>(r);
    if (w.generation != generation) return false;
    ++replays;
    for (const auto& k : w.kernels) k();
    return true;
  }

  // A kernel's work: run now, or recorded while capturing.
  void queue(std::function<void()> k) const {
    if (capturing) {
      capturing->kernels.push_back(std::move(k));
      return;
    }
    ++eager_kernels;
    k();
  }
  void run_kernel() const { clock += 1.0; }

  mutable double clock = 0;
  mutable std::unique_ptr<Work> capturing;
  mutable int recordings = 0, replays = 0, eager_kernels = 0;
  mutable int generation = 0;  // bumped: buffers moved, recordings are stale
  mutable bool fail_capture = false;
};

FakeQueue& fake_queue() {
  static FakeQueue d;
  return d;
}

// Runs ref's kernel on the fake queue: the recorded work keeps the tensors (views of the
// device arena, whose addresses are fixed as a GPU's are) and runs the kernel on replay.
class QueuedKernel final : public kernels::Kernel {
 public:
  explicit QueuedKernel(std::unique_ptr<kernels::Kernel> inner) : inner_(std::move(inner)) {}
  void run(ops::KernelContext& ctx) override {
    std::vector<Tensor> ins, outs;
    for (size_t i = 0; i < ctx.num_inputs(); ++i) ins.push_back(ctx.input(i));
    for (size_t o = 0; o < ctx.num_outputs(); ++o) outs.push_back(ctx.output(o));
    const ir::Node node = ctx.node();
    const int64_t opset = ctx.opset();
    kernels::Kernel* inner = inner_.get();
    fake_queue().queue([=]() mutable {
      std::vector<const Tensor*> in;
      std::vector<Tensor*> out;
      for (auto& t : ins) in.push_back(&t);
      for (auto& t : outs) out.push_back(&t);
      ops::KernelContext c(node, opset, in, out);
      inner->run(c);
      fake_queue().run_kernel();
    });
  }
  std::string impl() const override { return "queued " + inner_->impl(); }

 private:
  std::unique_ptr<kernels::Kernel> inner_;
};

class QueueBackend final : public kernels::Backend {
 public:
  QueueBackend() : ref_(kernels::make_backend("ref")) {}
  std::string name() const override { return "test:queue"; }
  std::unique_ptr<kernels::Kernel> create(const kernels::NodeView& v, std::string& why) override {
    if (v.node.op_type != "Relu" && v.node.op_type != "Add") {
      why = "only Relu and Add";
      return nullptr;
    }
    auto k = ref_->create(v, why);
    return k ? std::make_unique<QueuedKernel>(std::move(k)) : nullptr;
  }
  const Device& device() const override { return fake_queue(); }

 private:
  std::unique_ptr<kernels::Backend> ref_;
};

FRUGAL_REGISTER_BACKEND(test_queue, "test:queue", [](const kernels::BackendConfig&) {
  return std::make_unique<QueueBackend>();
});

using runtime_testing::node;
using runtime_testing::vi;

// y = Relu(Sigmoid(Relu(x)) + Relu(x)) + x: two stretches on the device (relu; add, relu2,
// add2) around Sigmoid on the host.
ir::Graph mixed_graph() {
  ir::Graph g;
  g.opsets[""] = 13;
  g.inputs.push_back(vi("x", {2, 8}));
  g.outputs.push_back(vi("y", {2, 8}));
  g.nodes.push_back(node("relu", "Relu", {"x"}, {"r"}));
  g.nodes.push_back(node("sig", "Sigmoid", {"r"}, {"s"}));
  g.nodes.push_back(node("add", "Add", {"s", "r"}, {"a"}));
  g.nodes.push_back(node("relu2", "Relu", {"a"}, {"b"}));
  g.nodes.push_back(node("add2", "Add", {"b", "x"}, {"y"}));
  g.validate_and_sort();
  return g;
}

Tensor random_input(uint64_t seed) {
  Tensor x(DType::kF32, {2, 8});
  Philox r(seed);
  for (int64_t i = 0; i < x.numel(); ++i) x.data<float>()[i] = r.normal(i);
  return x;
}

runtime::SessionOptions queue_options(bool graphs = true) {
  runtime::SessionOptions o;
  o.backends = {"test:queue", "ref"};
  o.optimize = false;  // keep the five nodes as they are
  o.device_graphs = graphs;
  return o;
}

Tensor oracle(const Tensor& x) {
  runtime::SessionOptions o;
  o.backends = {"ref"};
  o.optimize = false;
  runtime::Session s(mixed_graph(), o);
  return s.run({x})[0];
}

struct Counts {
  int recordings, replays, eager;
};
Counts counts() {
  const FakeQueue& q = fake_queue();
  return {q.recordings, q.replays, q.eager_kernels};
}

}  // namespace

TEST(QueuedDevice, SecondRunRecordsEachStretchLaterRunsReplay) {
  runtime::Session s(mixed_graph(), queue_options());
  ASSERT_TRUE(s.uses_queued_device());
  Counts c0 = counts();
  // Run 1: warm-up, every device kernel queued eagerly.
  Tensor x = random_input(1);
  EXPECT_TRUE(s.run({x})[0].equals(oracle(x)));
  EXPECT_EQ(counts().eager - c0.eager, 4);
  EXPECT_EQ(counts().recordings - c0.recordings, 0);
  EXPECT_NE(s.device_graphs_status().find("warm-up"), std::string::npos);
  // Run 2: both stretches recorded, then replayed (recording runs nothing).
  c0 = counts();
  x = random_input(2);
  EXPECT_TRUE(s.run({x})[0].equals(oracle(x)));
  EXPECT_EQ(counts().eager - c0.eager, 0);
  EXPECT_EQ(counts().recordings - c0.recordings, 2);
  EXPECT_EQ(counts().replays - c0.replays, 2);
  EXPECT_EQ(s.device_graphs_status(), "recorded and replayed (2 stretches)");
  // Runs 3 and 4: replay only, on new inputs (copied into the same device buffers).
  for (uint64_t seed : {3, 4}) {
    c0 = counts();
    x = random_input(seed);
    EXPECT_TRUE(s.run({x})[0].equals(oracle(x))) << seed;
    EXPECT_EQ(counts().eager - c0.eager, 0);
    EXPECT_EQ(counts().recordings - c0.recordings, 0);
    EXPECT_EQ(counts().replays - c0.replays, 2);
  }
}

TEST(QueuedDevice, OffRunsEveryKernelEagerly) {
  runtime::Session s(mixed_graph(), queue_options(false));
  const Counts c0 = counts();
  for (uint64_t seed : {1, 2, 3}) {
    const Tensor x = random_input(seed);
    EXPECT_TRUE(s.run({x})[0].equals(oracle(x)));
  }
  EXPECT_EQ(counts().eager - c0.eager, 12);
  EXPECT_EQ(counts().recordings - c0.recordings, 0);
  EXPECT_EQ(s.device_graphs_status(), "eager (device graphs off)");
}

TEST(QueuedDevice, StaleRecordingsAreMadeAgain) {
  runtime::Session s(mixed_graph(), queue_options());
  s.run({random_input(1)});
  s.run({random_input(2)});
  ++fake_queue().generation;  // e.g. another plan grew the device's scratch buffer
  const Counts c0 = counts();
  const Tensor x = random_input(3);
  EXPECT_TRUE(s.run({x})[0].equals(oracle(x)));
  EXPECT_EQ(counts().recordings - c0.recordings, 2);
  EXPECT_EQ(counts().replays - c0.replays, 2);
}

TEST(QueuedDevice, AFailedRecordingFallsBackToEagerAndSaysWhy) {
  runtime::Session s(mixed_graph(), queue_options());
  s.run({random_input(1)});
  fake_queue().fail_capture = true;
  Counts c0 = counts();
  Tensor x = random_input(2);
  const Tensor got = s.run({x})[0];
  fake_queue().fail_capture = false;
  EXPECT_TRUE(got.equals(oracle(x)));
  EXPECT_EQ(counts().eager - c0.eager, 4);  // every device step ran eagerly
  EXPECT_EQ(s.device_graphs_status(), "eager: recording failed at relu: fake: capture refused");
  c0 = counts();
  x = random_input(3);
  EXPECT_TRUE(s.run({x})[0].equals(oracle(x)));
  EXPECT_EQ(counts().recordings - c0.recordings, 0);  // not tried again
  EXPECT_EQ(counts().eager - c0.eager, 4);
}

// Per run: x in (0.25), relu (1), r out (0.125), s in (0.25), add, relu2, add2 (3), y out
// (0.125); x is copied once and read by relu and add2.
TEST(QueuedDevice, DeviceTimeByPhase) {
  for (bool graphs : {false, true}) {
    runtime::Session s(mixed_graph(), queue_options(graphs));
    s.run({random_input(1)});
    s.time_devices(true);
    for (uint64_t seed : {2, 3, 4}) s.run({random_input(seed)});
    s.time_devices(false);
    s.run({random_input(5)});  // not counted
    const runtime::DeviceTimes& t = s.device_times();
    EXPECT_EQ(t.runs, 3) << graphs;
    EXPECT_DOUBLE_EQ(t.to_device_s, 3 * 0.5) << graphs;
    EXPECT_DOUBLE_EQ(t.compute_s, 3 * 4.0) << graphs;
    EXPECT_DOUBLE_EQ(t.to_host_s, 3 * 0.25) << graphs;
  }
}

namespace {
struct DeviceTimeSeen final : runtime::NodeObserver {
  void device_time(size_t step, double s) override { seen[step] += s; }
  std::map<size_t, double> seen;
};
}  // namespace

TEST(QueuedDevice, ProfiledRunsAreEagerAndTimeEachDeviceStep) {
  runtime::Session s(mixed_graph(), queue_options());
  s.run({random_input(1)});
  s.run({random_input(2)});
  DeviceTimeSeen obs;
  s.set_observer(&obs);
  const Counts c0 = counts();
  const Tensor x = random_input(3);
  EXPECT_TRUE(s.run({x})[0].equals(oracle(x)));
  s.set_observer(nullptr);
  EXPECT_EQ(counts().replays - c0.replays, 0);
  EXPECT_EQ(s.device_graphs_status(), "eager (profiled: each step timed alone)");
  double kernels = 0, copies = 0;
  size_t device_steps = 0;
  for (const auto& [step, sec] : obs.seen) {
    ++device_steps;
    (s.assignments()[step].op_type == "Copy" ? copies : kernels) += sec;
  }
  EXPECT_EQ(device_steps, 8u);  // 4 kernels, 4 copies; sig on the host is not timed
  EXPECT_DOUBLE_EQ(kernels, 4.0);
  EXPECT_DOUBLE_EQ(copies, 0.75);
}
