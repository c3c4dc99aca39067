// Sub-batches (runtime/sub_batch.h): which graphs keep their images apart, the cache model's
// choice, and a session that runs a batch as several runs giving the outputs of one run.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <functional>
#include <utility>

#include "frugal/core/error.h"
#include "frugal/core/rng.h"
#include "frugal/measure/session_bench.h"
#include "frugal/runtime/session.h"
#include "frugal/runtime/sub_batch.h"
#include "frugal/zoo/zoo.h"

#include "runtime/graph_testing.h"

using namespace frugal;
using runtime_testing::node;
using runtime_testing::vi;

namespace {

ops::InferOptions at_batch(int64_t n) {
  ops::InferOptions o;
  o.batch = n;
  return o;
}

ir::ValueInfo batched(const std::string& name, std::vector<int64_t> dims) {
  ir::ValueInfo v = vi(name, std::move(dims));
  (*v.shape)[0] = ir::Dim{-1, "N"};
  return v;
}

// x [N,4,6] -> OP -> y, with the node's attributes set by `attrs`.
ir::Graph one_node(const std::string& op, std::vector<std::string> extra_inputs = {},
                   const std::function<void(ir::Node&)>& attrs = nullptr) {
  ir::Graph g;
  g.opsets[""] = 17;
  g.inputs.push_back(batched("x", {-1, 4, 6}));
  g.outputs.push_back(vi("y", {}));
  g.outputs.back().shape.reset();
  std::vector<std::string> in{"x"};
  in.insert(in.end(), extra_inputs.begin(), extra_inputs.end());
  g.nodes.push_back(node("the_node", op, in, {"y"}));
  if (attrs) attrs(g.nodes.back());
  return g;
}

std::string refusal(const ir::Graph& g) {
  return runtime::sub_batch_refusal(g, at_batch(8), 2);
}

Tensor random_input(const Shape& s, uint64_t seed) {
  Tensor t(DType::kF32, s);
  const Philox rng(seed);
  auto v = t.span<float>();
  for (size_t i = 0; i < v.size(); ++i) v[i] = 2.0f * rng.uniform(i) - 1.0f;
  return t;
}

}  // namespace

TEST(SubBatch, OpsThatKeepImagesApartAreAccepted) {
  EXPECT_EQ(refusal(one_node("Relu")), "");
  EXPECT_EQ(refusal(one_node("Softmax", {},
                             [](ir::Node& n) { n.attrs["axis"] = ir::Attribute{int64_t{-1}}; })),
            "");
  EXPECT_EQ(refusal(one_node("Transpose", {},
                             [](ir::Node& n) {
                               n.attrs["perm"] = ir::Attribute{std::vector<int64_t>{0, 2, 1}};
                             })),
            "");
  EXPECT_EQ(refusal(one_node("ReduceMean", {},
                             [](ir::Node& n) {
                               n.attrs["axes"] = ir::Attribute{std::vector<int64_t>{1, 2}};
                             })),
            "");
  // [N,4,6] -> [N*4, 6] or [N*24]: each image's elements stay contiguous.
  for (const std::vector<int64_t>& target :
       {std::vector<int64_t>{-1, 6}, std::vector<int64_t>{-1}}) {
    ir::Graph r = one_node("Reshape", {"shape"});
    r.initializers["shape"] =
        Tensor::from_vector<int64_t>({static_cast<int64_t>(target.size())}, target);
    EXPECT_EQ(refusal(r), "");
  }
  // An embedding: Gather on axis 0 of a constant table, indices with a batch.
  ir::Graph e;
  e.opsets[""] = 17;
  e.inputs.push_back(batched("ids", {-1, 5}));
  e.inputs.back().dtype = DType::kI64;
  e.outputs.push_back(vi("y", {}));
  e.outputs.back().shape.reset();
  e.initializers["table"] = Tensor(DType::kF32, {10, 3});
  e.nodes.push_back(node("embed", "Gather", {"table", "ids"}, {"y"}));
  EXPECT_EQ(runtime::sub_batch_refusal(e, at_batch(8), 2), "");
}

TEST(SubBatch, OpsThatMixImagesAreRefusedByName) {
  const auto refused = [](const ir::Graph& g) {
    const std::string why = refusal(g);
    EXPECT_NE(why, "");
    return why;
  };
  EXPECT_NE(refused(one_node("Softmax", {},
                             [](ir::Node& n) { n.attrs["axis"] = ir::Attribute{int64_t{0}}; }))
                .find("the_node"),
            std::string::npos);
  refused(one_node("Transpose", {}, [](ir::Node& n) {
    n.attrs["perm"] = ir::Attribute{std::vector<int64_t>{1, 0, 2}};
  }));
  refused(one_node("ReduceMean", {},
                   [](ir::Node& n) { n.attrs["axes"] = ir::Attribute{std::vector<int64_t>{0}}; }));
  refused(one_node("ReduceSum"));  // all axes
  refused(
      one_node("Concat", {"x"}, [](ir::Node& n) { n.attrs["axis"] = ir::Attribute{int64_t{0}}; }));
  refused(
      one_node("Flatten", {}, [](ir::Node& n) { n.attrs["axis"] = ir::Attribute{int64_t{0}}; }));
  ir::Graph tile = one_node("Tile", {"reps"});
  tile.initializers["reps"] = Tensor::from_vector<int64_t>({3}, {2, 1, 1});
  refused(tile);
  // [N,4,6] -> [4, N*6]: each row holds a part of every image.
  ir::Graph across = one_node("Reshape", {"shape"});
  across.initializers["shape"] = Tensor::from_vector<int64_t>({2}, {4, -1});
  EXPECT_NE(refused(across).find("value 'y'"), std::string::npos);
  refused(one_node("NonZero"));  // not known to keep the images apart
  // Range up to the batch (Shape(x)[0]): its values differ per run.
  ir::Graph range;
  range.opsets[""] = 17;
  range.inputs.push_back(batched("x", {-1, 4}));
  range.outputs.push_back(vi("y", {}));
  range.outputs.back().shape.reset();
  range.initializers["zero"] = Tensor::from_vector<int64_t>({}, {0});
  range.initializers["one"] = Tensor::from_vector<int64_t>({}, {1});
  range.initializers["axis1"] = Tensor::from_vector<int64_t>({1}, {1});
  range.nodes.push_back(node("shape", "Shape", {"x"}, {"s"}));
  range.nodes.push_back(node("count", "Gather", {"s", "zero"}, {"n"}));
  range.nodes.push_back(node("ids", "Range", {"zero", "n", "one"}, {"r"}));
  range.nodes.push_back(node("cast", "Cast", {"r"}, {"rf"}));
  range.nodes.back().attrs["to"] = ir::Attribute{int64_t{1}};
  range.nodes.push_back(node("unsq", "Unsqueeze", {"rf", "axis1"}, {"col"}));
  range.nodes.push_back(node("add", "Add", {"x", "col"}, {"y"}));
  EXPECT_NE(refused(range).find("'ids'"), std::string::npos);
  // Up to a fixed length instead (positions along another axis): accepted.
  range.initializers["four"] = Tensor::from_vector<int64_t>({}, {4});
  range.nodes[2].inputs = {"zero", "four", "one"};
  range.nodes[4].inputs = {"rf", "zero1"};
  range.initializers["zero1"] = Tensor::from_vector<int64_t>({1}, {0});
  EXPECT_EQ(refusal(range), "");
}

TEST(SubBatch, CacheModelSplitsWhereActivationsOutgrowTheCache) {
  const ir::Graph g = zoo::build("resnet8_fmnist", 1);
  const size_t mib = size_t{1} << 20;
  // Batch 64 of 28x28 images: the largest step's activations are a few MiB.
  const runtime::SubBatch big_cache = runtime::choose_sub_batch(g, at_batch(64), 0, 1024 * mib);
  EXPECT_EQ(big_cache.size, 64);
  EXPECT_EQ(big_cache.count(), 1);
  const runtime::SubBatch small_cache = runtime::choose_sub_batch(g, at_batch(64), 0, mib / 2);
  EXPECT_LT(small_cache.size, 64);
  EXPECT_EQ(64 % small_cache.size, 0);
  // The whole graph as several runs, or its first nodes as copies (a split plan).
  EXPECT_TRUE(small_cache.count() > 1 || small_cache.prefix_nodes > 0) << small_cache.why;
  EXPECT_NE(small_cache.why.find("less memory traffic"), std::string::npos) << small_cache.why;
  // Off, and a size that does not divide the batch.
  EXPECT_EQ(runtime::choose_sub_batch(g, at_batch(64), -1, mib / 2).count(), 1);
  try {
    runtime::choose_sub_batch(g, at_batch(64), 3, mib);
    FAIL() << "a sub-batch of 3 out of 64 was accepted";
  } catch (const UserError& e) {
    EXPECT_NE(std::string(e.what()).find("does not divide"), std::string::npos) << e.what();
  }
}

TEST(SubBatch, CacheFigureTrustsSysfsAndNotAHypervisorsL3) {
  const size_t mib = size_t{1} << 20;
  // The kernel's description as it is, whatever CPUID says.
  EXPECT_EQ(runtime::last_level_cache_from(32 * mib, 320L << 20, 1L << 20, 2), 32 * mib);
  // No sysfs: a core complex's L3 from sysconf, or L2 when there is no L3.
  EXPECT_EQ(runtime::last_level_cache_from(0, 32L << 20, 1L << 20, 2), 32 * mib);
  EXPECT_EQ(runtime::last_level_cache_from(0, 96L << 20, 1L << 20, 1), 96 * mib);
  EXPECT_EQ(runtime::last_level_cache_from(0, 0, 1L << 20, 1), mib);
  EXPECT_EQ(runtime::last_level_cache_from(0, -1, -1, 1), 0u);
  // The 2-core Zen 5 VM's CPUID: 508 MiB of L3, no sysfs; a share per thread of the run.
  EXPECT_EQ(runtime::last_level_cache_from(0, 532676608L, 1L << 20, 1), runtime::kVmL3PerThread);
  EXPECT_EQ(runtime::last_level_cache_from(0, 532676608L, 1L << 20, 2),
            2 * runtime::kVmL3PerThread);
  EXPECT_EQ(runtime::last_level_cache_from(0, 532676608L, 1L << 20, 0), runtime::kVmL3PerThread);
}

TEST(SubBatch, CacheModelKeepsTheBatchWhereWeightsOutweighActivations) {
  // One Gemm of 32 MiB weights over a batch of 8 rows: re-reading the weights per
  // sub-batch would cost more than any activation saved.
  ir::Graph g;
  g.opsets[""] = 17;
  g.inputs.push_back(batched("x", {-1, 4096}));
  g.outputs.push_back(vi("y", {}));
  g.outputs.back().shape.reset();
  g.initializers["w"] = Tensor(DType::kF32, {4096, 2048});
  g.nodes.push_back(node("fc", "MatMul", {"x", "w"}, {"y"}));
  EXPECT_EQ(runtime::choose_sub_batch(g, at_batch(8), 0, size_t{1} << 10).count(), 1);
}

TEST(SubBatch, SessionRunsSubBatchesWithTheOutputsOfOneRun) {
  const ir::Graph g = zoo::build("lenet5", 3);
  for (const std::vector<std::string>& backends :
       {std::vector<std::string>{"ref"}, std::vector<std::string>{"cpu", "ref"}}) {
    runtime::SessionOptions whole;
    whole.backends = backends;
    whole.infer.batch = 6;
    whole.sub_batch = -1;
    runtime::Session one(g, whole);
    ASSERT_EQ(one.sub_batch().count(), 1);
    const Tensor x = random_input(one.inputs()[0].shape, 11);
    const std::vector<Tensor> expected = one.run({x});
    for (int64_t size : {1, 2, 3}) {
      runtime::SessionOptions split = whole;
      split.sub_batch = size;
      split.poison_arena = true;
      runtime::Session s(g, split);
      ASSERT_EQ(s.sub_batch().size, size);
      EXPECT_EQ(s.inputs()[0].shape, one.inputs()[0].shape);
      EXPECT_EQ(s.outputs()[0].shape, one.outputs()[0].shape);
      EXPECT_EQ(s.info().input_shapes.begin()->second[0], size) << "the plan is one run's";
      // Both run forms: outputs returned, and written into the caller's buffers.
      const std::vector<Tensor> got = s.run({x});
      std::vector<Tensor> into{Tensor(DType::kF32, s.outputs()[0].shape)};
      s.run({x}, into);
      ASSERT_EQ(got[0].shape(), expected[0].shape());
      const auto e = expected[0].span<float>();
      const auto a = got[0].span<float>();
      const auto b = std::as_const(into[0]).span<float>();
      for (size_t i = 0; i < e.size(); ++i) {
        // The reference kernels compute each image alike whatever the batch; oneDNN may
        // block a batch of 6 and one of 2 differently.
        const float tol = backends[0] == "ref" ? 0.0f : 1e-5f * (1.0f + std::fabs(e[i]));
        ASSERT_NEAR(a[i], e[i], tol) << backends[0] << " sub-batch " << size << " element " << i;
        ASSERT_EQ(a[i], b[i]);
      }
      // The work of a run counts every sub-batch.
      const measure::WorkDone w1 = measure::session_work(one), w2 = measure::session_work(s);
      EXPECT_DOUBLE_EQ(w1.macs_by_format.at("fp32"), w2.macs_by_format.at("fp32"));
    }
  }
}

TEST(SubBatch, SessionRefusesWrongBuffersAndBadEnvironment) {
  const ir::Graph g = zoo::build("lenet5", 3);
  runtime::SessionOptions o;
  o.infer.batch = 4;
  o.sub_batch = 2;
  runtime::Session s(g, o);
  const Tensor x = random_input(s.inputs()[0].shape, 5);
  std::vector<Tensor> small{Tensor(DType::kF32, {2, 10})};
  EXPECT_THROW(s.run({x}, small), UserError);
  EXPECT_THROW(s.run({random_input({2, 1, 28, 28}, 5)}), UserError);
  setenv("FRUGAL_SUB_BATCH", "two", 1);
  runtime::SessionOptions env = o;
  env.sub_batch = 0;
  try {
    runtime::Session bad(g, env);
    ADD_FAILURE() << "FRUGAL_SUB_BATCH=two was accepted";
  } catch (const UserError& e) {
    EXPECT_NE(std::string(e.what()).find("FRUGAL_SUB_BATCH"), std::string::npos) << e.what();
  }
  setenv("FRUGAL_SUB_BATCH", "2", 1);
  EXPECT_EQ(runtime::Session(g, env).sub_batch().size, 2);
  unsetenv("FRUGAL_SUB_BATCH");
}

// A split plan (runtime/batch_split.h): the nodes before a cut in copies over sub-batches,
// the rest over the whole batch, in one plan whose outputs are those of one whole run.
TEST(SubBatch, SplitPlanGivesTheOutputsOfOneRun) {
  const ir::Graph g = zoo::build("resnet8_fmnist", 3);
  const size_t n = g.nodes.size();
  for (const std::vector<std::string>& backends :
       {std::vector<std::string>{"ref"}, std::vector<std::string>{"cpu", "ref"}}) {
    runtime::SessionOptions whole;
    whole.backends = backends;
    whole.infer.batch = 8;
    whole.sub_batch = -1;
    runtime::Session one(g, whole);
    const Tensor x = random_input(one.inputs()[0].shape, 13);
    const std::vector<Tensor> expected = one.run({x});
    // Cuts before nodes the passes keep (a Relu fused into its Conv leaves no cut there).
    std::vector<size_t> cuts;
    for (size_t i = 1; i < n; ++i)
      if (g.nodes[i].op_type == "Conv" || g.nodes[i].op_type == "Gemm") cuts.push_back(i);
    ASSERT_GE(cuts.size(), 4u);
    for (size_t cut : {cuts[0], cuts[cuts.size() / 3], cuts[cuts.size() / 2], cuts.back()})
      for (int64_t size : {1, 2, 4}) {
        runtime::SessionOptions split = whole;
        split.sub_batch = size;
        split.sub_batch_until = g.nodes[cut].name;
        split.poison_arena = true;
        runtime::Session s(g, split);
        const std::string what =
            backends[0] + " until " + split.sub_batch_until + " by " + std::to_string(size);
        ASSERT_EQ(s.sub_batch().prefix_nodes, cut) << what << ": " << s.sub_batch().why;
        EXPECT_EQ(s.sub_batch().count(), 1) << what;
        EXPECT_EQ(s.inputs()[0].shape, one.inputs()[0].shape);
        EXPECT_EQ(s.info().input_shapes.begin()->second[0], 8) << "one plan of the whole batch";
        // The copies read the graph's weights: none is duplicated; the Split's sizes added.
        EXPECT_EQ(s.constant_bytes(), one.constant_bytes() + sizeof(int64_t) * (8 / size)) << what;
        size_t splits = 0, concats = 0, copies = 0;
        for (const auto& node : s.graph().nodes) {
          splits += node.op_type == "Split";
          concats += node.op_type == "Concat";
          copies += node.name.find("/sub") != std::string::npos;
        }
        EXPECT_EQ(splits, 1u) << what;
        EXPECT_GE(concats, 1u) << what;
        EXPECT_GT(copies, 0u) << what;
        EXPECT_EQ(copies % static_cast<size_t>(8 / size), 0u) << what;
        const std::vector<Tensor> got = s.run({x});
        ASSERT_EQ(got[0].shape(), expected[0].shape());
        const auto e = expected[0].span<float>();
        const auto a = got[0].span<float>();
        for (size_t i = 0; i < e.size(); ++i) {
          const float tol = backends[0] == "ref" ? 0.0f : 1e-5f * (1.0f + std::fabs(e[i]));
          ASSERT_NEAR(a[i], e[i], tol) << what << " element " << i;
        }
      }
  }
}

TEST(SubBatch, SplitPlanRefusalsNameTheNodeAndTheReason) {
  const ir::Graph g = zoo::build("resnet8_fmnist", 3);
  const auto refused = [&](const ir::Graph& graph, int64_t size, const std::string& until,
                           const std::string& expect) {
    runtime::SessionOptions o;
    o.backends = {"ref"};
    o.infer.batch = 8;
    o.sub_batch = size;
    o.sub_batch_until = until;
    try {
      runtime::Session s(graph, o);
      ADD_FAILURE() << "split until '" << until << "' by " << size << " was accepted";
    } catch (const UserError& e) {
      const std::string m = e.what();
      EXPECT_NE(m.find("'" + until + "'"), std::string::npos) << m;
      EXPECT_NE(m.find(expect), std::string::npos) << m;
    }
  };
  refused(g, 2, "no_such_node", "no such node");
  refused(g, 2, g.nodes[0].name, "first node");
  refused(g, 3, g.nodes[2].name, "does not divide");
  refused(g, 8, g.nodes[2].name, "does not divide");
  // A node before the cut mixes the images.
  ir::Graph mix;
  mix.opsets[""] = 17;
  mix.inputs.push_back(batched("x", {-1, 4, 6}));
  mix.outputs.push_back(vi("y", {}));
  mix.outputs.back().shape.reset();
  mix.nodes.push_back(node("soft", "Softmax", {"x"}, {"s"}));
  mix.nodes.back().attrs["axis"] = ir::Attribute{int64_t{0}};
  mix.nodes.push_back(node("relu", "Relu", {"s"}, {"y"}));
  refused(mix, 2, "relu", "'soft' (Softmax) works across the batch dimension");
  // A value crossing the cut without a batch dimension (the batch's shape).
  ir::Graph shape;
  shape.opsets[""] = 17;
  shape.inputs.push_back(batched("x", {-1, 4, 6}));
  shape.outputs.push_back(vi("y", {}));
  shape.outputs.back().shape.reset();
  shape.nodes.push_back(node("shape", "Shape", {"x"}, {"s"}));
  shape.nodes.push_back(node("relu", "Relu", {"x"}, {"r"}));
  shape.nodes.push_back(node("reshape", "Reshape", {"r", "s"}, {"y"}));
  refused(shape, 2, "reshape", "value 's' crosses the cut without a batch");
  // Per-node backend lists and activation ranges name the nodes and values a split renames.
  size_t first_conv = 1;
  while (g.nodes[first_conv].op_type != "Conv") ++first_conv;
  runtime::SessionOptions named;
  named.backends = {"ref"};
  named.infer.batch = 8;
  named.sub_batch = 2;
  named.sub_batch_until = g.nodes[first_conv].name;
  named.node_backends[g.nodes[0].name] = {"ref"};
  try {
    runtime::Session s(g, named);
    ADD_FAILURE() << "a split plan with per-node backends was accepted";
  } catch (const UserError& e) {
    EXPECT_NE(std::string(e.what()).find("per-node backend lists"), std::string::npos) << e.what();
  }
  named.node_backends.clear();
  named.backends = {"cpu:int8", "cpu", "ref"};
  EXPECT_THROW(runtime::Session(g, named), UserError);
  // Left to the model, such a session is never split.
  named.sub_batch = 0;
  named.sub_batch_until.clear();
  named.backend_config.ranges["x"] = kernels::ValueRange{-1.0f, 1.0f};
  named.backends = {"ref"};
  runtime::SessionOptions plain = named;
  plain.backend_config.ranges.clear();
  setenv("FRUGAL_SUB_BATCH_CACHE_KB", "256", 1);
  EXPECT_GT(runtime::Session(g, plain).sub_batch().prefix_nodes, 0u)
      << runtime::Session(g, plain).sub_batch().why;
  EXPECT_EQ(runtime::Session(g, named).sub_batch().prefix_nodes, 0u);
  unsetenv("FRUGAL_SUB_BATCH_CACHE_KB");
  // The environment: N@node, checked alike.
  setenv("FRUGAL_SUB_BATCH", "2@no_such_node", 1);
  runtime::SessionOptions env;
  env.backends = {"ref"};
  env.infer.batch = 8;
  EXPECT_THROW(runtime::Session(g, env), UserError);
  setenv("FRUGAL_SUB_BATCH", ("two@" + g.nodes[2].name).c_str(), 1);
  EXPECT_THROW(runtime::Session(g, env), UserError);
  size_t conv = 1;
  while (g.nodes[conv].op_type != "Conv") ++conv;
  setenv("FRUGAL_SUB_BATCH", ("2@" + g.nodes[conv].name).c_str(), 1);
  EXPECT_EQ(runtime::Session(g, env).sub_batch().prefix_nodes, conv);
  // A cut before a node the passes fuse away: no split, and the reason.
  setenv("FRUGAL_SUB_BATCH", ("2@" + g.nodes[conv - 1].name).c_str(), 1);
  ASSERT_NE(g.nodes[conv - 1].op_type, "Conv");
  const runtime::Session fused(g, env);
  EXPECT_EQ(fused.sub_batch().count(), 1);
  EXPECT_EQ(fused.sub_batch().prefix_nodes, 0u);
  EXPECT_NE(fused.sub_batch().why.find("the passes left no split"), std::string::npos)
      << fused.sub_batch().why;
  unsetenv("FRUGAL_SUB_BATCH");
}

TEST(SubBatch, CacheModelSplitsBeforeLargeWeights) {
  // Large activations first (two 3x3 convolutions over 64x64), then a classifier of 8 MiB
  // of weights: sub-batches of the whole graph would read those weights once per run, a
  // split plan keeps the classifier over the whole batch.
  ir::Graph g;
  g.opsets[""] = 17;
  g.inputs.push_back(batched("x", {-1, 16, 64, 64}));
  g.outputs.push_back(vi("y", {}));
  g.outputs.back().shape.reset();
  g.initializers["w1"] = Tensor(DType::kF32, {16, 16, 3, 3});
  g.initializers["w2"] = Tensor(DType::kF32, {16, 16, 3, 3});
  g.initializers["fc"] = Tensor(DType::kF32, {16, 131072});
  g.nodes.push_back(node("conv1", "Conv", {"x", "w1"}, {"c1"}));
  g.nodes.back().attrs["pads"] = ir::Attribute{std::vector<int64_t>{1, 1, 1, 1}};
  g.nodes.push_back(node("relu", "Relu", {"c1"}, {"r1"}));
  g.nodes.push_back(node("conv2", "Conv", {"r1", "w2"}, {"c2"}));
  g.nodes.back().attrs["pads"] = ir::Attribute{std::vector<int64_t>{1, 1, 1, 1}};
  g.nodes.push_back(node("pool", "GlobalAveragePool", {"c2"}, {"p"}));
  g.nodes.push_back(node("flat", "Flatten", {"p"}, {"f"}));
  g.nodes.push_back(node("fc", "MatMul", {"f", "fc"}, {"y"}));
  const size_t mib = size_t{1} << 20;
  const runtime::SubBatch s = runtime::choose_sub_batch(g, at_batch(8), 0, mib);
  EXPECT_EQ(s.count(), 1) << s.why;
  EXPECT_GE(s.prefix_nodes, 3u) << s.why;
  EXPECT_LT(s.size, 8) << s.why;
  EXPECT_NE(s.why.find("less memory traffic"), std::string::npos) << s.why;
  // With the classifier's weights small, the whole graph in sub-batches.
  g.initializers["fc"] = Tensor(DType::kF32, {16, 16});
  const runtime::SubBatch w = runtime::choose_sub_batch(g, at_batch(8), 0, mib);
  EXPECT_GT(w.count(), 1) << w.why;
  EXPECT_EQ(w.prefix_nodes, 0u) << w.why;
}
