// Concat in place (runtime/concat_in_place.cpp): where a Concat has only 1s before its
// axis, its inputs are written straight into its output and the Concat step is not run; a
// chain of prefix Concats (DenseNet's) shares one buffer. The outputs are bit for bit those
// of the plan without the stage (FRUGAL_NO_CONCAT_IN_PLACE=1).
#include <gtest/gtest.h>

#include <cstdlib>
#include <cstring>

#include "frugal/core/rng.h"
#include "frugal/runtime/session.h"
#include "frugal/zoo/zoo.h"

using namespace frugal;

namespace {

ir::ValueInfo vi(const std::string& name, const Shape& dims) {
  ir::ValueInfo v{name, DType::kF32, std::vector<ir::Dim>{}};
  for (auto d : dims) v.shape->push_back(ir::Dim{d, ""});
  return v;
}

ir::Node node(const std::string& op, std::vector<std::string> in, const std::string& out,
              int64_t axis = 1) {
  ir::Node n;
  n.name = out;
  n.op_type = op;
  n.inputs = std::move(in);
  n.outputs = {out};
  if (op == "Concat") n.attrs["axis"] = ir::Attribute{axis};
  return n;
}

Tensor random_input(const Shape& shape, uint64_t seed) {
  Tensor x(DType::kF32, shape);
  Philox r(seed);
  for (int64_t i = 0; i < x.numel(); ++i) x.data<float>()[i] = r.normal(i);
  return x;
}

struct Result {
  std::vector<Tensor> outputs;
  size_t in_place = 0, arena = 0;
};

Result run(const ir::Graph& g, const std::vector<Tensor>& inputs, bool in_place,
           std::vector<std::string> backends = {"ref"}) {
  if (in_place)
    unsetenv("FRUGAL_NO_CONCAT_IN_PLACE");
  else
    setenv("FRUGAL_NO_CONCAT_IN_PLACE", "1", 1);
  runtime::SessionOptions o;
  o.backends = std::move(backends);
  o.poison_arena = true;  // a producer that missed its place would leave NaN in the Concat
  runtime::Session s(g, o);
  unsetenv("FRUGAL_NO_CONCAT_IN_PLACE");
  Result r{s.run(inputs), s.plan().concats_in_place, s.arena_bytes()};
  for (auto& t : r.outputs) t = t.clone();
  return r;
}

void expect_bitwise_equal(const std::vector<Tensor>& a, const std::vector<Tensor>& b) {
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    ASSERT_EQ(a[i].shape(), b[i].shape());
    EXPECT_EQ(std::memcmp(a[i].raw(), b[i].raw(), a[i].nbytes()), 0) << "output " << i;
  }
}

// a = Relu(x), b = Sigmoid(a), c1 = Concat(a, b), d = Relu(c1), c2 = Concat(a, b, d),
// y = Sigmoid(c2): c1 is the prefix of c2, so both are views of one buffer.
ir::Graph prefix_chain(const Shape& x_shape) {
  ir::Graph g;
  g.opsets[""] = 13;
  Shape c2 = x_shape;
  c2[1] *= 4;
  g.inputs.push_back(vi("x", x_shape));
  g.outputs.push_back(vi("y", c2));
  g.nodes = {node("Relu", {"x"}, "a"),
             node("Sigmoid", {"a"}, "b"),
             node("Concat", {"a", "b"}, "c1"),
             node("Relu", {"c1"}, "d"),
             node("Concat", {"a", "b", "d"}, "c2"),
             node("Sigmoid", {"c2"}, "y")};
  g.validate_and_sort();
  return g;
}

}  // namespace

TEST(ConcatInPlace, PrefixChainSharesOneBufferAndMatches) {
  const ir::Graph g = prefix_chain({1, 4, 6, 6});
  const std::vector<Tensor> x{random_input({1, 4, 6, 6}, 3)};
  const Result on = run(g, x, true), off = run(g, x, false);
  EXPECT_EQ(on.in_place, 2u);
  EXPECT_EQ(off.in_place, 0u);
  EXPECT_LT(on.arena, off.arena);
  expect_bitwise_equal(on.outputs, off.outputs);
}

TEST(ConcatInPlace, LeftAloneWhereThePartsAreNotContiguousOrNotOurs) {
  // Batch 2: each part is two separate ranges of the output.
  EXPECT_EQ(run(prefix_chain({2, 4, 6, 6}), {random_input({2, 4, 6, 6}, 1)}, true).in_place, 0u);
  // 1 x 1 x 3 x 3 floats: 36-byte parts would break the arena's 64-byte alignment.
  EXPECT_EQ(run(prefix_chain({1, 1, 3, 3}), {random_input({1, 1, 3, 3}, 1)}, true).in_place, 0u);
  // Each case a chain of two Concats (c1, then c2 = c1's parts and d = Relu(c1)), which
  // would share one buffer but for the part or the output named.
  struct Case {
    const char* what;
    std::vector<std::string> parts;
    bool prefix_is_output;
  };
  for (const Case& c :
       {Case{"a graph input", {"x", "a"}, false}, Case{"a part twice", {"a", "a"}, false},
        Case{"a graph output", {"a", "b"}, true}}) {
    ir::Graph g;
    g.opsets[""] = 13;
    g.inputs.push_back(vi("x", {1, 16, 4, 4}));
    std::vector<std::string> all = c.parts;
    all.push_back("d");
    g.nodes = {node("Relu", {"x"}, "a"),      node("Sigmoid", {"x"}, "b"),
               node("Concat", c.parts, "c1"), node("Relu", {"c1"}, "d"),
               node("Concat", all, "c2"),     node("Relu", {"c2"}, "y")};
    g.outputs.push_back(vi("y", {1, 64, 4, 4}));
    if (c.prefix_is_output) g.outputs.push_back(vi("c1", {1, 32, 4, 4}));
    g.validate_and_sort();
    const std::vector<Tensor> x{random_input({1, 16, 4, 4}, 2)};
    const Result on = run(g, x, true);
    EXPECT_EQ(on.in_place, 0u) << c.what;
    expect_bitwise_equal(on.outputs, run(g, x, false).outputs);
  }
}

// A lone Concat (no other Concat shares its buffer) copies: in place, its parts would lose
// their blocked layouts, which cost SqueezeNet and Inception more than the copy.
TEST(ConcatInPlace, LoneConcatCopies) {
  ir::Graph g;
  g.opsets[""] = 13;
  g.inputs.push_back(vi("x", {1, 16, 4, 4}));
  g.nodes = {node("Relu", {"x"}, "a"), node("Sigmoid", {"x"}, "b"), node("Concat", {"a", "b"}, "c"),
             node("Relu", {"c"}, "y")};
  g.outputs.push_back(vi("y", {1, 32, 4, 4}));
  g.validate_and_sort();
  const std::vector<Tensor> x{random_input({1, 16, 4, 4}, 4)};
  const Result on = run(g, x, true);
  EXPECT_EQ(on.in_place, 0u);
  expect_bitwise_equal(on.outputs, run(g, x, false).outputs);
  // The same pair of parts as the prefix of a second Concat is a chain, and in place.
  EXPECT_EQ(run(prefix_chain({1, 16, 4, 4}), {random_input({1, 16, 4, 4}, 4)}, true).in_place, 2u);
}

// DenseNet-121 at batch 1 on cpu. Where its values stay plain (FRUGAL_PLAIN_LAYOUTS=1),
// every per-layer Concat (54) and each block's (4) is in place. With the layouts negotiated
// on AVX-512, every value of a block stays in the convolutions' nhwc (the scale-shift BN
// reads it too) and none is placed: a part of an nhwc tensor is not a byte range of it.
TEST(ConcatInPlace, DenseNetConcatsInPlaceWhereTheValuesStayPlain) {
  const ir::Graph g = zoo::build("densenet121", 1);
  const std::vector<Tensor> x{random_input({1, 3, 224, 224}, 5)};
  setenv("FRUGAL_PLAIN_LAYOUTS", "1", 1);
  const Result on = run(g, x, true, {"cpu", "ref"});
  const Result off = run(g, x, false, {"cpu", "ref"});
  unsetenv("FRUGAL_PLAIN_LAYOUTS");
  EXPECT_EQ(on.in_place, 58u);
  // The block's buffer is reserved from its first feature to its last reader, so the arena
  // is not smaller here (9.2 against 8.4 MB): the gain is the copies, not the memory.
  expect_bitwise_equal(on.outputs, off.outputs);
  if (__builtin_cpu_supports("avx512f")) {
    EXPECT_EQ(run(g, x, true, {"cpu", "ref"}).in_place, 0u);
  }
}
