// A small graph with each kind of layer compress/ transforms (Conv with stride, pads and
// bias; Gemm with transB=0, alpha, beta and C; MatMul), seeded N(0,1) tensors and a run on
// the ref backend: the equivalence checks of the compress tests.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "frugal/core/rng.h"
#include "frugal/ir/graph.h"
#include "frugal/runtime/session.h"

namespace frugal::compress::testing {

inline Tensor random_tensor(const Shape& shape, uint64_t seed) {
  Tensor t(DType::kF32, shape);
  const Philox rng(seed, 7);
  for (int64_t i = 0; i < t.numel(); ++i) t.data<float>()[i] = rng.normal(static_cast<uint64_t>(i));
  return t;
}

inline ir::Node make_node(const std::string& name, const std::string& op,
                          std::vector<std::string> in, const std::string& out,
                          std::map<std::string, ir::Attribute> attrs = {}) {
  ir::Node n;
  n.name = name;
  n.op_type = op;
  n.inputs = std::move(in);
  n.outputs = {out};
  n.attrs = std::move(attrs);
  return n;
}

// x [2,3,8,8] -> Conv 3x3 stride 2 pad 1 (+bias) -> Flatten -> Gemm transB=0 alpha 0.5 beta 2
// -> MatMul -> y [2,6]
inline ir::Graph small_graph() {
  ir::Graph g;
  g.opsets[""] = 17;
  ir::ValueInfo x{"x", DType::kF32, std::vector<ir::Dim>{}};
  for (int64_t d : {2, 3, 8, 8}) x.shape->push_back({d, ""});
  g.inputs.push_back(x);
  g.initializers["cw"] = random_tensor({5, 3, 3, 3}, 1);
  g.initializers["cb"] = random_tensor({5}, 2);
  g.initializers["gw"] = random_tensor({80, 10}, 3);
  g.initializers["gc"] = random_tensor({10}, 4);
  g.initializers["mw"] = random_tensor({10, 6}, 5);
  using A = ir::Attribute;
  g.nodes.push_back(make_node("conv", "Conv", {"x", "cw", "cb"}, "c",
                              {{"kernel_shape", A{std::vector<int64_t>{3, 3}}},
                               {"strides", A{std::vector<int64_t>{2, 2}}},
                               {"pads", A{std::vector<int64_t>{1, 1, 1, 1}}}}));
  g.nodes.push_back(make_node("flat", "Flatten", {"c"}, "f"));
  g.nodes.push_back(make_node("fc", "Gemm", {"f", "gw", "gc"}, "h",
                              {{"alpha", A{0.5f}}, {"beta", A{2.0f}}, {"transB", A{int64_t{0}}}}));
  g.nodes.push_back(make_node("mm", "MatMul", {"h", "mw"}, "y"));
  g.outputs.push_back(ir::ValueInfo{"y", DType::kUndefined, std::nullopt});
  return g;
}

inline Tensor run_ref(const ir::Graph& g, const Tensor& x) {
  runtime::SessionOptions o;
  o.backends = {"ref"};
  o.optimize = false;
  runtime::Session s(g, o);
  return s.run({x}).at(0);
}

}  // namespace frugal::compress::testing
