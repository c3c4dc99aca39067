// Random inputs of a model without data: integers read as Gather indices stay inside the
// table (random_input.h), so that `frugal bench` runs an embedding model as it is.
#include <gtest/gtest.h>

#include "frugal/measure/engine.h"
#include "frugal/measure/random_input.h"
#include "frugal/runtime/session.h"
#include "kernels/cpu_testing.h"

using namespace frugal;
using frugal::cpu_testing::make_node;

namespace {

ir::ValueInfo value(const std::string& name, DType dtype, const Shape& shape) {
  ir::ValueInfo v{name, dtype, std::vector<ir::Dim>{}};
  for (int64_t d : shape) v.shape->push_back(ir::Dim{d, ""});
  return v;
}

// BERT's embeddings in miniature: token ids into a 7-row table, token types (through a
// Cast) into a 2-row table and, on axis 1, into a [4, 3] table; a mask cast to float.
ir::Graph embedding_graph() {
  ir::Graph g;
  g.opsets[""] = 17;
  g.inputs = {value("ids", DType::kI64, {2, 5}), value("types", DType::kI32, {2, 5}),
              value("mask", DType::kI64, {2, 5})};
  g.initializers["words"] = Tensor(DType::kF32, {7, 3});
  g.initializers["kinds"] = Tensor(DType::kF32, {2, 3});
  g.initializers["wide"] = Tensor(DType::kF32, {4, 3});
  g.nodes = {
      make_node("n1", "Gather", {"words", "ids"}, "w"),
      make_node("n2", "Cast", {"types"}, "types64", {{"to", ir::Attribute{.value = int64_t{7}}}}),
      make_node("n3", "Gather", {"kinds", "types64"}, "k"),
      make_node("n4", "Gather", {"wide", "types64"}, "k2",
                {{"axis", ir::Attribute{.value = int64_t{1}}}}),
      make_node("n5", "Cast", {"mask"}, "maskf", {{"to", ir::Attribute{.value = int64_t{1}}}}),
      make_node("n6", "Add", {"w", "k"}, "wk")};
  g.outputs = {value("wk", DType::kF32, {2, 5, 3}), value("k2", DType::kF32, {4, 2, 5}),
               value("maskf", DType::kF32, {2, 5})};
  g.validate_and_sort();
  return g;
}

}  // namespace

TEST(RandomInput, GatherIndicesStayInsideTheTable) {
  const ir::Graph g = embedding_graph();
  EXPECT_EQ(measure::random_int_limit(g, "ids"), 7);
  EXPECT_EQ(measure::random_int_limit(g, "types"), 2);  // the smaller of 2 rows and 3 columns
  EXPECT_EQ(measure::random_int_limit(g, "mask"), 2);   // cast to float: 0 or 1
  EXPECT_EQ(measure::random_int_limit(g, "maskf"), measure::kRandomIntLimit);  // no reader
  const Tensor t = measure::random_tensor(DType::kI64, {1000}, 3, 7);
  int64_t top = 0;
  for (int64_t v : t.span<int64_t>()) {
    ASSERT_GE(v, 0);
    top = std::max(top, v);
  }
  EXPECT_EQ(top, 6);  // the whole range is drawn
}

TEST(RandomInput, BenchInputsOfAnEmbeddingModelRun) {
  const ir::Graph g = embedding_graph();
  for (const std::string backend : {"ref", "cpu"}) {
    runtime::SessionOptions opt;
    opt.backends = {backend, "ref"};
    runtime::Session s(g, opt);
    const std::vector<Tensor> inputs =
        measure::make_inputs(s, 0, "--input", [](size_t, const auto&) { return Tensor(); });
    ASSERT_EQ(inputs.size(), 3u);
    for (int64_t v : inputs[0].span<int64_t>()) EXPECT_LT(v, 7);
    for (int32_t v : inputs[1].span<int32_t>()) EXPECT_LT(v, 2);
    EXPECT_NO_THROW(s.run(inputs)) << backend;
    // "random:SEED" given by name follows the same rule.
    const Tensor ids = measure::make_input("random:5", s.inputs()[0], &s.graph());
    for (int64_t v : ids.span<int64_t>()) EXPECT_LT(v, 7);
  }
}
