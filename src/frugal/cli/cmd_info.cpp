// frugal info MODEL: what the model is and what it costs, layer by layer.
#include <cstdio>
#include <filesystem>

#include "frugal/cli/command.h"
#include "frugal/cli/common.h"
#include "frugal/cli/engine_options.h"
#include "frugal/ir/onnx_io.h"
#include "frugal/measure/record.h"
#include "frugal/ops/cost.h"
#include "frugal/ops/post_ops.h"
#include "frugal/pipeline/segments.h"
#include "frugal/runtime/session.h"

namespace frugal::cli {
namespace {

struct InfoArgs {
  std::string model;
  EngineArgs engine;
  bool json = false;
  bool plan = false;
  std::string segments;  // a folder written by frugal partition
};

// frugal info --segments DIR: the manifest checked (the segments chain) and tabulated.
void print_segments(const InfoArgs& a) {
  const pipeline::Manifest m = pipeline::read_manifest(a.segments);
  if (a.json) {
    print_json(m.json);
    return;
  }
  const auto& j = m.json;
  std::printf(
      "segments  %s: %zu segments of %s (method %s, objective %s, precision %s, devices %s)\n",
      a.segments.c_str(), m.segments.size(), j.value("model", "").c_str(),
      j.value("method", "").c_str(), j.value("objective", "").c_str(),
      j.value("precision", "").c_str(), j.value("devices", "").c_str());
  Table t(
      {"#", "file", "device", "first..last", "inputs", "outputs", "params", "memory B", "time"});
  for (size_t k = 0; k < m.segments.size(); ++k) {
    const auto& s = m.segments[k];
    std::string ins, outs;
    for (const auto& e : s.info["inputs"])
      ins += (ins.empty() ? "" : ", ") + e["name"].get<std::string>() + " (" +
             (e["from"].get<int64_t>() < 0 ? std::string("model")
                                           : "#" + std::to_string(e["from"].get<int64_t>())) +
             ")";
    for (const auto& o : s.outputs) outs += (outs.empty() ? "" : ", ") + o;
    char time[48];
    std::snprintf(time, sizeof time, "%.3f ms%s", 1e3 * s.info.value("time_s", 0.0),
                  s.info.value("estimate", false) ? " (estimate)" : "");
    t.add({std::to_string(k), s.info["file"].get<std::string>(), s.device,
           s.info.value("first_node", "") + ".." + s.info.value("last_node", ""), ins, outs,
           with_commas(s.info.value("params", int64_t{0})),
           with_commas(s.info.value("memory_bytes", int64_t{0})), time});
  }
  std::printf("%s\n", t.str().c_str());
  const auto& pr = j["predicted"];
  std::printf("predicted throughput %.1f /s, latency %.3f ms%s\n",
              pr.value("throughput_per_s", 0.0), 1e3 * pr.value("latency_s", 0.0),
              pr.value("estimate", false) ? " (estimates)" : "");
}

// "Conv+sum+relu" for a node carrying fused post-ops.
std::string fused_op(const runtime::Session& s, const runtime::NodeAssignment& as) {
  std::string op = as.op_type;
  if (as.node_index >= s.graph().nodes.size()) return op;  // a copy step
  const ir::Node& n = s.graph().nodes[as.node_index];
  if (n.has_attr(ops::kPostOpsAttr))
    for (const auto& e : n.attr_strings(ops::kPostOpsAttr)) op += "+" + e;
  return op;
}

// Nodes the first preferred backend declined: those with MACs one per line, the others
// counted (data movement and elementwise ops, which cpu:int8 leaves to float32).
void print_fallbacks(const runtime::Session& s, const std::string& by) {
  if (s.fallbacks().empty()) return;
  double share = 0;
  size_t free_ops = 0;
  for (const auto& f : s.fallbacks()) {
    share += f.macs_share;
    free_ops += f.macs == 0;
  }
  const std::string note = free_ops ? " (" + std::to_string(free_ops) + " without MACs)" : "";
  std::printf("fallbacks %zu steps declined by %s, %.1f%% of the MACs%s\n", s.fallbacks().size(),
              by.c_str(), 100.0 * share, note.c_str());
  for (const auto& f : s.fallbacks())
    if (f.macs > 0)
      std::printf("  %-24s %-10s %5.1f%% of MACs  on %s: %s\n", f.node_name.c_str(),
                  f.op_type.c_str(), 100.0 * f.macs_share, f.backend.c_str(), f.reason.c_str());
}

// The compiled plan: which backend and kernel runs each node (and why preferred backends
// declined), and the memory the planner reserved before the first run.
void print_plan(const ir::Graph& g, const InfoArgs& a, const runtime::SessionOptions& so,
                nlohmann::json* j) {
  runtime::Session s(g, so);
  if (j) {
    (*j)["plan"] = {{"arena_bytes", s.arena_bytes()},
                    {"arena_lower_bound_bytes", s.arena_lower_bound()},
                    {"constant_bytes", s.constant_bytes()},
                    {"optimized", so.optimize},
                    {"native_layout_values", s.native_layout_values()},
                    {"concats_in_place", s.plan().concats_in_place},
                    {"views", s.plan().views},
                    {"u8_values", s.quantized_values().size()},
                    {"qdq_pairs_folded", s.qdq_pairs_folded()},
                    {"qdq_notes", s.qdq_notes()},
                    {"backends", s.backends()},
                    {"sub_batch",
                     {{"batch", s.sub_batch().batch},
                      {"size", s.sub_batch().size},
                      {"until", s.sub_batch().until},
                      {"why", s.sub_batch().why}}},
                    {"threads", so.threads},
                    {"transfers", nlohmann::json::array()},
                    {"fallbacks", measure::fallbacks_json(s.fallbacks())},
                    {"passes", nlohmann::json::array()},
                    {"steps", nlohmann::json::array()}};
    for (const auto& p : s.passes())
      (*j)["plan"]["passes"].push_back(
          {{"pass", p.pass}, {"changes", p.changes}, {"nodes", p.nodes}});
    for (const auto& as : s.assignments())
      (*j)["plan"]["steps"].push_back({{"node", as.node_name},
                                       {"op", fused_op(s, as)},
                                       {"backend", as.backend},
                                       {"impl", as.impl},
                                       {"threads", as.threads},
                                       {"declined", as.declined}});
    for (const auto& t : s.transfers())
      (*j)["plan"]["transfers"].push_back({{"step", t.step},
                                           {"value", t.value},
                                           {"from", t.from},
                                           {"to", t.to},
                                           {"bytes", t.bytes}});
    return;
  }
  if (!so.optimize) {
    std::printf("\npasses    none (--no-optimize)\n");
  } else {
    std::printf("\npasses    %zu nodes in, %zu steps compiled\n", g.nodes.size(),
                s.assignments().size());
    for (const auto& p : s.passes()) {
      std::string what;
      for (const auto& n : p.nodes) what += (what.empty() ? "" : "; ") + n;
      if (what.size() > 160) what = what.substr(0, 157) + "...";
      std::printf("  %-18s %4lld  %s\n", p.pass.c_str(), static_cast<long long>(p.changes),
                  what.c_str());
    }
  }
  Table t({"#", "node", "op", "backend", "kernel", "thr", "declined by"});
  size_t k = 0, single = 0;
  for (const auto& as : s.assignments()) {
    std::string declined;
    for (const auto& d : as.declined) declined += (declined.empty() ? "" : "; ") + d;
    single += so.threads > 1 && as.threads == 1;
    t.add({std::to_string(k++), as.node_name, fused_op(s, as), as.backend, as.impl,
           std::to_string(as.threads), declined});
  }
  std::string chosen;
  for (const auto& b : s.backends()) chosen += (chosen.empty() ? "" : ",") + b;
  std::string asked;
  for (const auto& b : a.engine.backends) asked += (asked.empty() ? "" : ",") + b;
  std::printf("\nplan (backends: %s%s)\n%s\n", chosen.c_str(),
              asked == chosen ? "" : (", from " + asked).c_str(), t.str().c_str());
  if (so.threads > 1)
    std::printf(
        "threads   %zu of %zu steps run on 1 thread (estimated under %.0f us of work:"
        " waking %d threads would cost more), the rest on %d\n",
        single, s.assignments().size(), so.parallel_min_us, so.threads, so.threads);
  for (const auto& tr : s.transfers())
    std::printf("transfer  step %zu copies %s from %s to %s, %s B\n", tr.step, tr.value.c_str(),
                tr.from.c_str(), tr.to.c_str(),
                with_commas(static_cast<int64_t>(tr.bytes)).c_str());
  std::printf(
      "layouts   %zu values stay in a backend's blocked layout between its kernels"
      " (no reorder at either end)\n",
      s.native_layout_values());
  if (s.plan().concats_in_place > 0)
    std::printf(
        "concat    %zu Concat steps done in place (their inputs are written into their output:"
        " %s B not copied per run)\n",
        s.plan().concats_in_place,
        with_commas(static_cast<int64_t>(s.plan().concat_bytes_not_copied)).c_str());
  if (s.plan().views > 0)
    std::printf(
        "views     %zu data-movement steps elided (their outputs are their inputs' bytes:"
        " %s B not copied per run)\n",
        s.plan().views, with_commas(static_cast<int64_t>(s.plan().view_bytes_not_copied)).c_str());
  if (!s.quantized_values().empty())
    std::printf(
        "int8      %zu values pass as u8 between int8 kernels (requantized in the"
        " producer, no float32 round trip)\n",
        s.quantized_values().size());
  if (s.qdq_pairs_folded() > 0 || !s.qdq_notes().empty())
    std::printf(
        "qdq       %zu QuantizeLinear -> DequantizeLinear pairs run as int8 boundaries"
        " (the file's scales and zero points)\n",
        s.qdq_pairs_folded());
  for (const auto& n : s.qdq_notes()) std::printf("  %s\n", n.c_str());
  print_fallbacks(s, so.backends.front());
  if (s.sub_batch().count() > 1)
    std::printf("batch     %lld as %lld runs of %lld (the plan below is one run's): %s\n",
                static_cast<long long>(s.sub_batch().batch),
                static_cast<long long>(s.sub_batch().count()),
                static_cast<long long>(s.sub_batch().size), s.sub_batch().why.c_str());
  else if (s.sub_batch().prefix_nodes)
    std::printf(
        "batch     one run of %lld, the nodes before '%s' as copies over %lld images each:"
        " %s\n",
        static_cast<long long>(s.sub_batch().batch), s.sub_batch().until.c_str(),
        static_cast<long long>(s.sub_batch().size), s.sub_batch().why.c_str());
  else if (!s.sub_batch().why.empty())
    std::printf("batch     one run of %lld: %s\n", static_cast<long long>(s.sub_batch().batch),
                s.sub_batch().why.c_str());
  std::printf(
      "memory    activation arena %s B (planned before the first run; lower bound %s B),"
      " weights and constants %s B\n",
      with_commas(static_cast<int64_t>(s.arena_bytes())).c_str(),
      with_commas(static_cast<int64_t>(s.arena_lower_bound())).c_str(),
      with_commas(static_cast<int64_t>(s.constant_bytes())).c_str());
}

const char* state_name(ops::NodeStatus::State s) {
  switch (s) {
    case ops::NodeStatus::State::kStatic:
      return "static";
    case ops::NodeStatus::State::kFolded:
      return "folded";
    case ops::NodeStatus::State::kDynamic:
      return "dynamic";
    case ops::NodeStatus::State::kUnsupported:
      return "unsupported";
    case ops::NodeStatus::State::kUnreached:
      return "unreached";
  }
  return "?";
}

void run_info(const InfoArgs& a) {
  if (!a.segments.empty()) return print_segments(a);
  if (a.model.empty()) throw UserError("info: give a MODEL (or --segments DIR)");
  const runtime::SessionOptions so = session_options(a.engine, a.model);
  ir::Graph g = ir::load_onnx(a.model);
  ops::GraphInfo info = ops::infer_graph(g, so.infer);
  ops::GraphCost cost = ops::analyze_cost(g, info);

  auto out_shape = [&](const ir::Node& n) {
    std::string s;
    for (const auto& o : n.outputs) {
      if (o.empty()) continue;
      auto it = info.values.find(o);
      std::string t =
          it != info.values.end() && it->second.shape ? shape_str(*it->second.shape) : "?";
      s += (s.empty() ? "" : ", ") + t;
    }
    return s;
  };
  std::vector<std::string> unsupported;
  for (size_t k = 0; k < g.nodes.size(); ++k)
    if (info.nodes[k].state == ops::NodeStatus::State::kUnsupported)
      unsupported.push_back(g.nodes[k].name + ": " + info.nodes[k].reason);

  if (a.json) {
    nlohmann::json j;
    j["model"] = a.model;
    j["ir_version"] = g.ir_version;
    j["producer"] = g.producer_name + (g.producer_version.empty() ? "" : " " + g.producer_version);
    for (const auto& [d, v] : g.opsets) j["opsets"][d.empty() ? "ai.onnx" : d] = v;
    for (const auto& in : g.inputs)
      j["inputs"].push_back({{"name", in.name},
                             {"dtype", dtype_name(in.dtype)},
                             {"shape", info.input_shapes.at(in.name)}});
    for (const auto& o : g.outputs) {
      auto it = info.values.find(o.name);
      nlohmann::json oj{{"name", o.name}};
      if (it != info.values.end() && it->second.shape) {
        oj["dtype"] = dtype_name(it->second.dtype);
        oj["shape"] = *it->second.shape;
      }
      j["outputs"].push_back(oj);
    }
    j["layers"] = nlohmann::json::array();
    for (size_t k = 0; k < g.nodes.size(); ++k) {
      const auto& c = cost.nodes[k];
      j["layers"].push_back({{"name", g.nodes[k].name},
                             {"op", g.nodes[k].op_type},
                             {"state", state_name(info.nodes[k].state)},
                             {"output_shape", out_shape(g.nodes[k])},
                             {"params", c.params},
                             {"macs", c.macs},
                             {"flops", c.flops},
                             {"bytes_read", c.bytes_read},
                             {"bytes_written", c.bytes_written}});
    }
    j["totals"] = {{"nodes", g.nodes.size()},
                   {"params", cost.total.params},
                   {"macs", cost.total.macs},
                   {"flops", cost.total.flops},
                   {"bytes_read", cost.total.bytes_read},
                   {"bytes_written", cost.total.bytes_written},
                   {"weight_bytes", cost.weight_bytes}};
    j["unsupported"] = unsupported;
    j["method"] = "static analysis of the graph (estimated, not measured)";
    if (a.plan) print_plan(g, a, so, &j);
    print_json(j);
    return;
  }
  std::printf("model     %s\n", a.model.c_str());
  std::printf("format    ONNX ir_version %lld, producer %s%s\n",
              static_cast<long long>(g.ir_version), g.producer_name.c_str(),
              g.producer_version.empty() ? "" : (" " + g.producer_version).c_str());
  std::string opsets;
  for (const auto& [d, v] : g.opsets)
    opsets += (opsets.empty() ? "" : ", ") + (d.empty() ? std::string("ai.onnx") : d) + " " +
              std::to_string(v);
  std::printf("opsets    %s\n", opsets.c_str());
  for (const auto& in : g.inputs)
    std::printf("input     %s: %s %s\n", in.name.c_str(), std::string(dtype_name(in.dtype)).c_str(),
                shape_str(info.input_shapes.at(in.name)).c_str());
  for (const auto& o : g.outputs) {
    auto it = info.values.find(o.name);
    std::string shape =
        it != info.values.end() && it->second.shape ? shape_str(*it->second.shape) : "?";
    std::printf("output    %s: %s\n", o.name.c_str(), shape.c_str());
  }
  std::printf("\n");
  Table t({"#", "layer", "op", "output", "params", "MACs", "bytes"});
  for (size_t k = 0; k < g.nodes.size(); ++k) {
    const auto& n = g.nodes[k];
    const auto& c = cost.nodes[k];
    std::string note;
    if (info.nodes[k].state == ops::NodeStatus::State::kFolded) note = " (folded)";
    if (info.nodes[k].state == ops::NodeStatus::State::kUnsupported) note = " (UNSUPPORTED)";
    t.add({std::to_string(k), n.name, n.op_type + note, out_shape(n), with_commas(c.params),
           with_commas(c.macs), with_commas(c.bytes_read + c.bytes_written)});
  }
  std::printf("%s\n", t.str().c_str());
  std::printf("totals    %zu nodes, %s parameters, %s MACs (%s), %s FLOPs other, weights %s B\n",
              g.nodes.size(), with_commas(cost.total.params).c_str(),
              with_commas(cost.total.macs).c_str(),
              si(static_cast<double>(cost.total.macs)).c_str(),
              with_commas(cost.total.flops).c_str(), with_commas(cost.weight_bytes).c_str());
  std::printf("traffic   %s B read, %s B written (each node's inputs and outputs; estimated)\n",
              with_commas(cost.total.bytes_read).c_str(),
              with_commas(cost.total.bytes_written).c_str());
  if (unsupported.empty()) {
    std::printf("support   every node is supported\n");
  } else {
    std::printf("support   %zu unsupported node(s):\n", unsupported.size());
    for (const auto& u : unsupported) std::printf("          %s\n", u.c_str());
  }
  if (a.plan) print_plan(g, a, so, nullptr);
}

void setup(CLI::App& app) {
  auto a = std::make_shared<InfoArgs>();
  auto* sub = app.add_subcommand("info", "Show a model's inputs, outputs and per-layer cost");
  sub->footer(
      "Examples:\n  frugal info resnet18.onnx\n  frugal info model.onnx --batch 8 --json\n"
      "  frugal info model.onnx --shape input=1x3x160x160\n  frugal info --segments r50.seg");
  sub->add_option("model", a->model, "ONNX model file");
  sub->add_option("--segments", a->segments,
                  "a folder written by frugal partition: check that its segments chain, list them");
  sub->add_flag("--plan", a->plan,
                "compile the model: kernel per node, reasons for fallbacks, planned memory");
  add_engine_options(sub, a->engine);
  sub->add_flag("--json", a->json, "machine-readable output");
  sub->callback([a] { run_info(*a); });
}

}  // namespace

FRUGAL_REGISTER_COMMAND(info, 10, setup);

}  // namespace frugal::cli
