// Helpers for the cpu backend tests: build a one-node graph, run it in a Session on a
// given backend, and compare two results relative to the larger reference magnitude.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "frugal/core/rng.h"
#include "frugal/kernels/threads.h"
#include "frugal/runtime/session.h"

namespace frugal::cpu_testing {

inline ir::Attribute attr(int64_t v) {
  return ir::Attribute{.value = v};
}
inline ir::Attribute attr(float v) {
  return ir::Attribute{.value = v};
}
inline ir::Attribute attr(std::vector<int64_t> v) {
  return ir::Attribute{.value = std::move(v)};
}
inline ir::Attribute attr(std::string v) {
  return ir::Attribute{.value = std::move(v)};
}
inline ir::Attribute attr(std::vector<std::string> v) {
  return ir::Attribute{.value = std::move(v)};
}

// Values drawn from N(0, 1) (times `scale`), or uniform in [lo, hi) when lo < hi.
inline Tensor random_tensor(const Shape& shape, uint64_t seed, float scale = 1.0f) {
  Tensor t(DType::kF32, shape);
  Philox rng(seed, 7);
  float* d = t.data<float>();
  for (int64_t i = 0; i < t.numel(); ++i) d[i] = scale * rng.normal(static_cast<uint64_t>(i));
  return t;
}
inline Tensor uniform_tensor(const Shape& shape, uint64_t seed, float lo, float hi) {
  Tensor t(DType::kF32, shape);
  Philox rng(seed, 11);
  float* d = t.data<float>();
  for (int64_t i = 0; i < t.numel(); ++i)
    d[i] = lo + (hi - lo) * rng.uniform(static_cast<uint64_t>(i));
  return t;
}

// One input of a one-node graph: a graph input fed at run time, or a constant
// (initializer, what weights are). An empty name marks an omitted optional input.
struct Operand {
  std::string name;
  Tensor value;
  bool constant = false;
};
inline Operand input(std::string name, Tensor v) {
  return {std::move(name), std::move(v), false};
}
inline Operand constant(std::string name, Tensor v) {
  return {std::move(name), std::move(v), true};
}
inline Operand omitted() {
  return {"", Tensor(), false};
}

// A node with one output, for graphs written out by hand.
inline ir::Node make_node(const std::string& name, const std::string& op,
                          std::vector<std::string> in, std::string out,
                          std::map<std::string, ir::Attribute> attrs = {}) {
  ir::Node n;
  n.name = name;
  n.op_type = op;
  n.inputs = std::move(in);
  n.outputs = {std::move(out)};
  n.attrs = std::move(attrs);
  return n;
}

struct OneNode {
  ir::Graph graph;
  std::vector<Tensor> feeds;  // run-time inputs in graph-input order
};

inline OneNode one_node(const std::string& op_type, const std::vector<Operand>& operands,
                        std::map<std::string, ir::Attribute> attrs = {}, int64_t opset = 17,
                        size_t num_outputs = 1) {
  OneNode r;
  r.graph.opsets[""] = opset;
  ir::Node n;
  n.name = "node";
  n.op_type = op_type;
  n.attrs = std::move(attrs);
  for (const auto& o : operands) {
    n.inputs.push_back(o.name);
    if (o.name.empty()) continue;
    if (o.constant) {
      r.graph.initializers[o.name] = o.value;
      continue;
    }
    ir::ValueInfo vi{o.name, o.value.dtype(), std::vector<ir::Dim>{}};
    for (int64_t d : o.value.shape()) vi.shape->push_back(ir::Dim{d, ""});
    r.graph.inputs.push_back(vi);
    r.feeds.push_back(o.value);
  }
  for (size_t i = 0; i < num_outputs; ++i) {
    const std::string out = "y" + std::to_string(i);
    n.outputs.push_back(out);
    r.graph.outputs.push_back(ir::ValueInfo{out, DType::kUndefined, std::nullopt});
  }
  r.graph.nodes.push_back(std::move(n));
  r.graph.validate_and_sort();
  return r;
}

struct Ran {
  std::vector<Tensor> outputs;
  std::vector<runtime::NodeAssignment> assignments;
};

inline Ran run_on(const std::string& backend, const ir::Graph& graph,
                  const std::vector<Tensor>& feeds) {
  runtime::SessionOptions opt;
  opt.backends = {backend, "ref"};
  if (backend == "ref") opt.backends = {"ref"};
  runtime::Session s(graph, opt);
  Ran r;
  r.outputs = s.run(feeds);
  r.assignments = s.assignments();
  return r;
}

// A whole graph on cpu (every node on `threads` threads, the arena poisoned, run twice so
// that the second run reuses an arena the first one filled) and on ref as written (not
// optimized, so fusions and rewrites are checked against the graph itself). The cpu
// Session stays, for its assignments and layouts.
struct CpuAndRef {
  std::vector<Tensor> got, want;
  std::unique_ptr<runtime::Session> cpu;
};

inline CpuAndRef run_cpu_and_ref(const ir::Graph& g, const std::vector<Tensor>& feeds,
                                 int threads) {
  CpuAndRef r;
  runtime::SessionOptions ref_opt;
  ref_opt.backends = {"ref"};
  ref_opt.optimize = false;
  r.want = runtime::Session(g, ref_opt).run(feeds);
  kernels::set_threads(threads);
  runtime::SessionOptions opt;
  opt.backends = {"cpu", "ref"};
  opt.poison_arena = true;
  opt.parallel_min_us = 0;
  r.cpu = std::make_unique<runtime::Session>(g, opt);
  r.cpu->run(feeds);
  r.got = r.cpu->run(feeds);
  kernels::set_threads(1);
  return r;
}

// max |got - want| / max |want| (0 when both are all zeros); infinity on a shape mismatch
// or a NaN in either.
inline double relative_error(const Tensor& got, const Tensor& want) {
  if (got.shape() != want.shape()) return INFINITY;
  double worst = 0, scale = 0;
  for (int64_t i = 0; i < want.numel(); ++i) {
    const double g = got.at_double(i), w = want.at_double(i);
    if (std::isnan(g) || std::isnan(w)) return INFINITY;
    worst = std::max(worst, std::fabs(g - w));
    scale = std::max(scale, std::fabs(w));
  }
  return scale > 0 ? worst / scale : worst;
}

// run_cpu_and_ref at `threads`: every node (copy steps aside) on cpu and every output
// within `tol` of ref (relative to max |ref|).
inline void expect_graph_on_cpu_at(const ir::Graph& g, const std::vector<Tensor>& feeds,
                                   int threads, double tol, const std::string& label) {
  const CpuAndRef r = run_cpu_and_ref(g, feeds, threads);
  for (const auto& a : r.cpu->assignments()) {
    if (a.op_type == "Copy") continue;
    EXPECT_EQ(a.backend, "cpu") << label << ": " << (a.declined.empty() ? "" : a.declined[0]);
  }
  ASSERT_FALSE(r.got.empty());
  ASSERT_EQ(r.got.size(), r.want.size());
  for (size_t i = 0; i < r.got.size(); ++i)
    EXPECT_LE(relative_error(r.got[i], r.want[i]), tol) << label << " threads " << threads;
}

// The same at 1 and 2 threads.
inline void expect_graph_on_cpu(const ir::Graph& g, const std::vector<Tensor>& feeds, double tol,
                                const std::string& label) {
  for (int threads : {1, 2}) expect_graph_on_cpu_at(g, feeds, threads, tol, label);
}

// Runs the node on `backend` and on ref; expects the node assigned to `backend` and every
// output within `tol` (relative to max |ref|). Returns the error observed.
inline double expect_matches_ref(const OneNode& t, double tol, const std::string& backend = "cpu",
                                 const std::string& label = "") {
  const Ran ref = run_on("ref", t.graph, t.feeds);
  const Ran got = run_on(backend, t.graph, t.feeds);
  EXPECT_EQ(got.assignments.at(0).backend, backend)
      << label << ": declined: "
      << (got.assignments.at(0).declined.empty() ? "" : got.assignments.at(0).declined[0]);
  if (got.assignments.at(0).backend == backend) {
    const std::string& impl = got.assignments.at(0).impl;
    EXPECT_TRUE(impl.rfind("onednn:", 0) == 0 || impl.rfind("loop", 0) == 0)
        << label << ": impl " << impl;
  }
  double worst = 0;
  for (size_t i = 0; i < ref.outputs.size(); ++i) {
    const double err = relative_error(got.outputs[i], ref.outputs[i]);
    EXPECT_LE(err, tol) << label << ": output " << i << " of " << t.graph.nodes[0].op_type
                        << " differs from ref (shape " << shape_str(ref.outputs[i].shape()) << ")";
    worst = std::max(worst, err);
  }
  return worst;
}

// The reason the cpu backend gave for declining the node (empty when it accepted it).
inline std::string cpu_decline_reason(const OneNode& t, const std::string& backend = "cpu") {
  const Ran got = run_on(backend, t.graph, t.feeds);
  if (got.assignments.at(0).backend == backend) return "";
  return got.assignments.at(0).declined.empty() ? "?" : got.assignments.at(0).declined[0];
}

}  // namespace frugal::cpu_testing
