#include "frugal/compress/structured.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <numeric>
#include <set>

#include "frugal/core/error.h"
#include "frugal/ops/infer.h"

namespace frugal::compress {
namespace {

using Role = ChannelMember::Role;

const std::set<std::string> kChannelwiseUnary = {"Relu",          "Clip",
                                                 "LeakyRelu",     "Sigmoid",
                                                 "HardSwish",     "HardSigmoid",
                                                 "Tanh",          "Elu",
                                                 "Selu",          "Identity",
                                                 "Dropout",       "MaxPool",
                                                 "AveragePool",   "GlobalAveragePool",
                                                 "GlobalMaxPool", "Softplus",
                                                 "Neg",           "Abs"};
const std::set<std::string> kElementwiseBinary = {"Add", "Sub", "Mul", "Max", "Min"};

// Union-find over channel groups.
struct Groups {
  std::vector<int> parent;
  std::vector<ChannelGroup> g;
  int make(int64_t channels, std::string blocked = "") {
    parent.push_back(static_cast<int>(parent.size()));
    ChannelGroup grp;
    grp.channels = channels;
    grp.blocked = std::move(blocked);
    g.push_back(std::move(grp));
    return parent.back();
  }
  int find(int x) {
    while (parent[static_cast<size_t>(x)] != x)
      x = parent[static_cast<size_t>(x)] =
          parent[static_cast<size_t>(parent[static_cast<size_t>(x)])];
    return x;
  }
  ChannelGroup& at(int x) { return g[static_cast<size_t>(find(x))]; }
  void block(int x, const std::string& why) {
    ChannelGroup& grp = at(x);
    if (grp.blocked.empty()) grp.blocked = why;
  }
  int unite(int a, int b) {
    a = find(a), b = find(b);
    if (a == b) return a;
    ChannelGroup& ga = g[static_cast<size_t>(a)];
    ChannelGroup& gb = g[static_cast<size_t>(b)];
    if (ga.blocked.empty()) ga.blocked = gb.blocked;
    ga.members.insert(ga.members.end(), gb.members.begin(), gb.members.end());
    ga.sources.insert(ga.sources.end(), gb.sources.begin(), gb.sources.end());
    parent[static_cast<size_t>(b)] = a;
    return a;
  }
};

// A copy of `t` with only the entries at `idx` along `axis`.
Tensor take(const Tensor& t, int64_t axis, const std::vector<int64_t>& idx) {
  Shape s = t.shape();
  const int64_t outer =
      std::accumulate(s.begin(), s.begin() + axis, int64_t{1}, std::multiplies<>());
  const int64_t inner =
      std::accumulate(s.begin() + axis + 1, s.end(), int64_t{1}, std::multiplies<>());
  const int64_t dim = s[static_cast<size_t>(axis)];
  s[static_cast<size_t>(axis)] = static_cast<int64_t>(idx.size());
  Tensor out(t.dtype(), s);
  const size_t es = dtype_size(t.dtype());
  const auto* src = static_cast<const uint8_t*>(t.raw());
  auto* dst = static_cast<uint8_t*>(out.raw());
  for (int64_t o = 0; o < outer; ++o)
    for (size_t k = 0; k < idx.size(); ++k)
      std::copy_n(src + ((o * dim + idx[k]) * inner) * static_cast<int64_t>(es),
                  inner * static_cast<int64_t>(es),
                  dst + ((o * static_cast<int64_t>(idx.size()) + static_cast<int64_t>(k)) * inner) *
                            static_cast<int64_t>(es));
  return out;
}

std::string names_of(const std::vector<std::string>& v, size_t max = 4) {
  std::string s;
  for (size_t i = 0; i < v.size() && i < max; ++i) s += (i ? ", " : "") + v[i];
  if (v.size() > max) s += " and " + std::to_string(v.size() - max) + " more";
  return s;
}

}  // namespace

ChannelPlan plan_channel_pruning(const ir::Graph& graph, const PruneSpec& spec) {
  if (spec.kind != PruneSpec::Kind::kChannels)
    throw InternalError("plan_channel_pruning: not a channels spec");
  const ops::GraphInfo info = ops::infer_graph(graph);
  auto shape_of = [&](const std::string& v) -> Shape {
    auto it = info.values.find(v);
    return it != info.values.end() && it->second.shape ? *it->second.shape : Shape{};
  };
  std::map<std::string, int> readers;
  for (const auto& n : graph.nodes)
    for (const auto& in : n.inputs)
      if (!in.empty()) ++readers[in];
  auto single_init = [&](const ir::Node& n, size_t i) {
    return !n.has_input(i) || (graph.initializer(n.inputs[i]) && readers[n.inputs[i]] == 1);
  };

  const std::vector<PrunableLayer> layers = prunable_layers(graph);
  const std::vector<bool> excluded = excluded_layers(layers, spec.exclude);
  std::set<std::string> excluded_names;
  for (size_t i = 0; i < layers.size(); ++i)
    if (excluded[i]) excluded_names.insert(layers[i].name);

  Groups G;
  std::map<std::string, int> space;  // value -> group
  // The group of a value read by node n: an existing one, or a new blocked one.
  auto group_of = [&](const std::string& v, const ir::Node& n) -> int {
    auto it = space.find(v);
    if (it != space.end()) return it->second;
    const Shape s = shape_of(v);
    const int64_t c = s.size() >= 2 ? s[1] : 0;
    const int64_t p = graph.producer(v);
    const std::string from =
        p >= 0 ? graph.nodes[static_cast<size_t>(p)].describe() : "graph input '" + v + "'";
    const int id = G.make(c, "channels come from " + from + ", not from a prunable Conv");
    space[v] = id;
    return id;
  };

  for (size_t i = 0; i < graph.nodes.size(); ++i) {
    const ir::Node& n = graph.nodes[i];
    const auto ni = static_cast<int64_t>(i);
    const bool onnx = n.domain.empty() || n.domain == "ai.onnx";
    auto block_inputs = [&](const std::string& why) {
      for (const auto& in : n.inputs)
        if (!in.empty() && space.count(in)) G.block(space[in], why);
    };
    auto new_blocked_outputs = [&](const std::string& why) {
      for (const auto& out : n.outputs) {
        if (out.empty()) continue;
        const Shape s = shape_of(out);
        space[out] = G.make(s.size() >= 2 ? s[1] : 0, why);
      }
    };
    if (!onnx) {
      block_inputs("read by " + n.describe() + " (custom domain)");
      new_blocked_outputs("produced by " + n.describe());
      continue;
    }
    const std::string& op = n.op_type;
    if (op == "Conv" && n.has_input(1) && graph.initializer(n.inputs[1]) &&
        graph.initializer(n.inputs[1])->dtype() == DType::kF32 &&
        graph.initializer(n.inputs[1])->rank() >= 3) {
      const Tensor& w = *graph.initializer(n.inputs[1]);
      const int64_t group = n.attr_int("group", 1);
      const int64_t out_c = w.dim(0);
      const int64_t in_c = w.dim(1) * group;
      const bool weights_ok = single_init(n, 1) && single_init(n, 2);
      const int x = group_of(n.inputs[0], n);
      if (group == 1) {
        if (!weights_ok) G.block(x, n.describe() + " shares its weight or bias");
        G.at(x).members.push_back({Role::kConvInput, ni, 1});
        const int y = G.make(out_c);
        G.at(y).members.push_back({Role::kSource, ni, 1});
        G.at(y).sources.push_back(n.name);
        if (n.name.empty()) G.block(y, "a Conv without a name produces these channels");
        if (!weights_ok) G.block(y, n.describe() + " shares its weight or bias");
        if (excluded_names.count(n.name)) G.block(y, "layer '" + n.name + "' is excluded");
        space[n.outputs[0]] = y;
      } else if (group == in_c && group == out_c && w.dim(1) == 1) {
        if (!weights_ok) G.block(x, n.describe() + " shares its weight or bias");
        G.at(x).members.push_back({Role::kDepthwise, ni, 1});
        space[n.outputs[0]] = x;
      } else {
        block_inputs("read by grouped " + n.describe() + " (group " + std::to_string(group) + ")");
        new_blocked_outputs("produced by grouped " + n.describe());
      }
      continue;
    }
    if (op == "BatchNormalization" && n.inputs.size() >= 5 && n.outputs.size() >= 1) {
      const int x = group_of(n.inputs[0], n);
      bool ok = true;
      for (size_t k = 1; k < 5; ++k) ok = ok && single_init(n, k) && n.has_input(k);
      if (!ok) G.block(x, n.describe() + " has non-constant or shared parameters");
      if (n.outputs.size() > 1) G.block(x, n.describe() + " is in training mode");
      G.at(x).members.push_back({Role::kBatchNorm, ni, 1});
      space[n.outputs[0]] = x;
      continue;
    }
    if (kChannelwiseUnary.count(op) && n.has_input(0) && space.count(n.inputs[0])) {
      bool ok = true;
      for (size_t k = 1; k < n.inputs.size(); ++k)  // Clip's min/max: scalars
        if (!n.inputs[k].empty()) {
          const Tensor* t = graph.initializer(n.inputs[k]);
          ok = ok && t && t->numel() == 1;
        }
      const int x = space[n.inputs[0]];
      if (!ok) G.block(x, "read by " + n.describe() + " with a non-scalar operand");
      space[n.outputs[0]] = x;
      for (size_t k = 1; k < n.outputs.size(); ++k)  // Dropout's mask
        if (!n.outputs[k].empty()) space[n.outputs[k]] = x;
      continue;
    }
    if (kElementwiseBinary.count(op) && n.inputs.size() == 2 &&
        (space.count(n.inputs[0]) || space.count(n.inputs[1]))) {
      const Shape a = shape_of(n.inputs[0]), b = shape_of(n.inputs[1]);
      const Tensor* ca = graph.initializer(n.inputs[0]);
      const Tensor* cb = graph.initializer(n.inputs[1]);
      if (!ca && !cb && !a.empty() && a == b) {
        space[n.outputs[0]] = G.unite(group_of(n.inputs[0], n), group_of(n.inputs[1], n));
        continue;
      }
      const Tensor* c = ca ? ca : cb;
      const std::string& v = ca ? n.inputs[1] : n.inputs[0];
      if (c && c->numel() == 1 && space.count(v)) {
        space[n.outputs[0]] = space[v];
        continue;
      }
      block_inputs("read by " + n.describe() + " with a broadcast operand");
      new_blocked_outputs("produced by " + n.describe());
      continue;
    }
    if (op == "Flatten" && n.has_input(0) && space.count(n.inputs[0])) {
      const int x = space[n.inputs[0]];
      const Shape s = shape_of(n.inputs[0]);
      const std::string& out = n.outputs[0];
      std::string why;
      if (n.attr_int("axis", 1) != 1 || s.size() < 2 || s[1] <= 0)
        why = n.describe() + " is not a Flatten at axis 1 of a known shape";
      const int64_t spatial = why.empty() ? shape_numel(s) / std::max<int64_t>(1, s[0] * s[1]) : 0;
      std::vector<ChannelMember> dense;
      for (size_t k = 0; k < graph.nodes.size() && why.empty(); ++k) {
        const ir::Node& r = graph.nodes[k];
        for (size_t j = 0; j < r.inputs.size(); ++j) {
          if (r.inputs[j] != out) continue;
          const bool ok = j == 0 && (r.op_type == "Gemm" || r.op_type == "MatMul") &&
                          r.has_input(1) && single_init(r, 1) &&
                          graph.initializer(r.inputs[1])->rank() == 2 &&
                          (r.op_type != "Gemm" || r.attr_int("transA", 0) == 0);
          if (!ok) {
            why = "the output of " + n.describe() + " is read by " + r.describe() +
                  " (only Gemm/MatMul with a constant weight is rewritten)";
            break;
          }
          dense.push_back({Role::kDenseInput, static_cast<int64_t>(k), spatial});
        }
      }
      for (const auto& o : graph.outputs)
        if (o.name == out) why = "the output of " + n.describe() + " is a graph output";
      if (!why.empty()) {
        G.block(x, why);
      } else {
        auto& m = G.at(x).members;
        m.insert(m.end(), dense.begin(), dense.end());
      }
      continue;  // the flattened value itself is not a channel group
    }
    // Anything else reading a channel group: leave that group alone.
    block_inputs("read by " + n.describe() + ", which the surgery does not rewrite");
    new_blocked_outputs("produced by " + n.describe());
  }
  for (const auto& o : graph.outputs)
    if (space.count(o.name)) G.block(space[o.name], "value '" + o.name + "' is a graph output");

  // Choose channels per root group.
  ChannelPlan plan;
  std::vector<std::string> reasons;
  for (size_t r = 0; r < G.g.size(); ++r) {
    if (G.find(static_cast<int>(r)) != static_cast<int>(r)) continue;
    ChannelGroup grp = G.g[r];
    if (grp.sources.empty()) continue;  // not produced by any Conv: nothing to report
    const int64_t C = grp.channels;
    grp.keep.resize(static_cast<size_t>(C));
    std::iota(grp.keep.begin(), grp.keep.end(), int64_t{0});
    grp.scores.assign(static_cast<size_t>(C), 0.0);
    if (!grp.blocked.empty()) {
      plan.notes.push_back("channels of " + names_of(grp.sources) + " kept: " + grp.blocked);
      reasons.push_back(grp.blocked);
      plan.groups.push_back(std::move(grp));
      continue;
    }
    std::string crit = spec.criterion;
    bool has_bn = false;
    for (const auto& m : grp.members) has_bn = has_bn || m.role == Role::kBatchNorm;
    if (crit == "bn" && !has_bn) {
      plan.notes.push_back("channels of " + names_of(grp.sources) +
                           ": no BatchNormalization follows, ranked by l1 instead");
      crit = "l1";
    }
    for (const auto& m : grp.members) {
      const ir::Node& n = graph.nodes[static_cast<size_t>(m.node)];
      if (crit == "bn" && m.role == Role::kBatchNorm) {
        const Tensor& gamma = *graph.initializer(n.inputs[1]);
        for (int64_t c = 0; c < C; ++c)
          grp.scores[static_cast<size_t>(c)] += std::fabs(gamma.at_double(c));
      } else if (crit != "bn" && m.role == Role::kSource) {
        const Tensor& w = *graph.initializer(n.inputs[1]);
        const int64_t per = w.numel() / C;
        const float* d = w.data<float>();
        for (int64_t c = 0; c < C; ++c) {
          double s = 0;
          for (int64_t j = 0; j < per; ++j) {
            const double v = d[c * per + j];
            s += crit == "l1" ? std::fabs(v) : v * v;
          }
          grp.scores[static_cast<size_t>(c)] += crit == "l1" ? s : std::sqrt(s);
        }
      }
    }
    const auto remove = static_cast<int64_t>(std::llround(spec.sparsity * static_cast<double>(C)));
    if (remove >= C)
      throw UserError("--prune " + spec.str() + ": would remove every one of the " +
                      std::to_string(C) + " output channels of " + names_of(grp.sources) +
                      " (exclude it with --exclude or lower the ratio)");
    if (remove > 0) {
      std::vector<int64_t> order(static_cast<size_t>(C));
      std::iota(order.begin(), order.end(), int64_t{0});
      // Highest score kept; ties: lower index kept.
      std::stable_sort(order.begin(), order.end(), [&](int64_t a, int64_t b) {
        return grp.scores[static_cast<size_t>(a)] > grp.scores[static_cast<size_t>(b)];
      });
      grp.keep.assign(order.begin(), order.end() - remove);
      std::sort(grp.keep.begin(), grp.keep.end());
    }
    plan.groups.push_back(std::move(grp));
  }
  const bool any = std::any_of(plan.groups.begin(), plan.groups.end(), [](const ChannelGroup& g) {
    return g.blocked.empty() && static_cast<int64_t>(g.keep.size()) < g.channels;
  });
  if (!any) {
    std::string why =
        reasons.empty() ? std::string("no Conv output channels to prune") : reasons.front();
    if (reasons.empty() && !plan.groups.empty()) why = "the ratio removes no channel";
    throw UserError("--prune " + spec.str() + ": no channel can be removed: " + why);
  }
  return plan;
}

ir::Graph apply_channel_plan(const ir::Graph& graph, const ChannelPlan& plan) {
  ir::Graph g = graph;
  auto set_init = [&](const std::string& name, Tensor t) { g.initializers[name] = std::move(t); };
  auto cur = [&](const std::string& name) -> const Tensor& { return g.initializers.at(name); };
  for (const ChannelGroup& grp : plan.groups) {
    if (!grp.blocked.empty() || static_cast<int64_t>(grp.keep.size()) == grp.channels) continue;
    const std::vector<int64_t>& K = grp.keep;
    for (const ChannelMember& m : grp.members) {
      ir::Node& n = g.nodes[static_cast<size_t>(m.node)];
      switch (m.role) {
        case Role::kSource:
        case Role::kDepthwise:
          set_init(n.inputs[1], take(cur(n.inputs[1]), 0, K));
          if (n.has_input(2)) set_init(n.inputs[2], take(cur(n.inputs[2]), 0, K));
          if (m.role == Role::kDepthwise)
            n.attrs["group"] = ir::Attribute{static_cast<int64_t>(K.size())};
          break;
        case Role::kBatchNorm:
          for (size_t k = 1; k < 5; ++k) set_init(n.inputs[k], take(cur(n.inputs[k]), 0, K));
          break;
        case Role::kConvInput:
          set_init(n.inputs[1], take(cur(n.inputs[1]), 1, K));
          break;
        case Role::kDenseInput: {
          std::vector<int64_t> feat;
          for (int64_t c : K)
            for (int64_t j = 0; j < m.spatial; ++j) feat.push_back(c * m.spatial + j);
          const bool trans_b = n.op_type == "Gemm" && n.attr_int("transB", 0) != 0;
          set_init(n.inputs[1], take(cur(n.inputs[1]), trans_b ? 1 : 0, feat));
          break;
        }
      }
    }
  }
  g.value_info.clear();
  return g;
}

PruneOutcome prune_channels(const ir::Graph& graph, const PruneSpec& spec) {
  const ChannelPlan plan = plan_channel_pruning(graph, spec);
  PruneOutcome out{apply_channel_plan(graph, plan), plan.notes};
  nlohmann::json layers = nlohmann::json::object();
  for (const ChannelGroup& grp : plan.groups)
    for (const std::string& s : grp.sources) {
      nlohmann::json e;
      e["pattern"] = "channels";
      e["channels_before"] = grp.channels;
      e["channels_after"] = grp.keep.size();
      if (!grp.blocked.empty()) e["kept_because"] = grp.blocked;
      layers[s] = e;
    }
  nlohmann::json step;
  step["prune"] = spec.str();
  step["layers"] = layers;
  append_compress_metadata(out.graph, step);
  return out;
}

}  // namespace frugal::compress
