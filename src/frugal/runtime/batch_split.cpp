#include "frugal/runtime/batch_split.h"

#include <map>
#include <set>
#include <unordered_set>
#include <vector>

namespace frugal::runtime {

namespace {

bool reads_any(const ir::Node& n, const std::set<std::string>& values) {
  for (const auto& v : n.inputs)
    if (values.count(v)) return true;
  return false;
}

}  // namespace

std::set<std::string> copied_values(const ir::Graph& graph, size_t prefix,
                                    const std::function<bool(const std::string&)>& batched) {
  std::set<std::string> copied;
  for (const auto& in : graph.inputs)
    if (batched(in.name)) copied.insert(in.name);
  for (size_t i = 0; i < prefix; ++i)
    if (reads_any(graph.nodes[i], copied))
      for (const auto& o : graph.nodes[i].outputs)
        if (!o.empty()) copied.insert(o);
  for (const auto& in : graph.inputs) copied.erase(in.name);
  return copied;
}

ir::Graph split_batch(const ir::Graph& graph, size_t prefix, int64_t size, int64_t batch,
                      const std::function<bool(const std::string&)>& batched) {
  const auto copies = static_cast<size_t>(batch / size);
  const std::set<std::string> copied = copied_values(graph, prefix, batched);
  std::set<std::string> split_inputs;
  std::vector<bool> copy(prefix, false);
  for (size_t i = 0; i < prefix; ++i) {
    for (const auto& v : graph.nodes[i].inputs)
      if (!v.empty() && graph.find_input(v) && batched(v)) split_inputs.insert(v);
    copy[i] = reads_any(graph.nodes[i], copied) || reads_any(graph.nodes[i], split_inputs);
  }
  // Names per copy, unused anywhere in the graph.
  std::unordered_set<std::string> used;
  for (const auto& n : graph.nodes) {
    used.insert(n.name);
    used.insert(n.outputs.begin(), n.outputs.end());
  }
  for (const auto& [n, t] : graph.initializers) used.insert(n);
  for (const auto& v : graph.inputs) used.insert(v.name);
  auto fresh = [&](const std::string& base) {
    std::string name = base;
    for (int i = 1; used.count(name); ++i) name = base + "_" + std::to_string(i);
    used.insert(name);
    return name;
  };
  std::map<std::string, std::vector<std::string>> per_copy;
  auto names = [&](const std::string& v) -> const std::vector<std::string>& {
    auto& list = per_copy[v];
    for (size_t c = list.size(); c < copies; ++c)
      list.push_back(fresh(v + "/sub" + std::to_string(c)));
    return list;
  };

  ir::Graph out = graph;
  out.nodes.clear();
  for (const auto& v : copied) out.value_info.erase(v);
  // The graph inputs, split.
  for (const auto& x : split_inputs) {
    ir::Node split;
    split.name = fresh(x + "/split");
    split.op_type = "Split";
    split.inputs = {x};
    split.outputs = names(x);
    split.attrs["axis"] = ir::Attribute{int64_t{0}};
    const std::vector<int64_t> sizes(copies, size);
    if (graph.opset() >= 13) {
      const std::string s = fresh(x + "/split_sizes");
      Tensor t(DType::kI64, Shape{static_cast<int64_t>(copies)});
      std::copy(sizes.begin(), sizes.end(), t.span<int64_t>().begin());
      out.initializers[s] = std::move(t);
      split.inputs.push_back(s);
    } else {
      split.attrs["split"] = ir::Attribute{sizes};
    }
    out.nodes.push_back(std::move(split));
  }
  // The prefix nodes that stay single, then the copies, copy by copy (each copy's
  // intermediates die before the next starts).
  for (size_t i = 0; i < prefix; ++i)
    if (!copy[i]) out.nodes.push_back(graph.nodes[i]);
  auto rename = [&](std::vector<std::string>& list, size_t c) {
    for (auto& v : list)
      if (!v.empty() && (copied.count(v) || split_inputs.count(v))) v = names(v)[c];
  };
  for (size_t c = 0; c < copies; ++c)
    for (size_t i = 0; i < prefix; ++i) {
      if (!copy[i]) continue;
      ir::Node n = graph.nodes[i];
      n.name = fresh(n.name + "/sub" + std::to_string(c));
      rename(n.inputs, c);
      rename(n.outputs, c);
      out.nodes.push_back(std::move(n));
    }
  // The copied values read after the cut, concatenated back under their own names.
  std::set<std::string> crossing;
  for (size_t i = prefix; i < graph.nodes.size(); ++i)
    for (const auto& v : graph.nodes[i].inputs)
      if (copied.count(v)) crossing.insert(v);
  for (const auto& o : graph.outputs)
    if (copied.count(o.name)) crossing.insert(o.name);
  for (const auto& v : crossing) {
    ir::Node concat;
    concat.name = fresh(v + "/concat");
    concat.op_type = "Concat";
    concat.inputs = names(v);
    concat.outputs = {v};
    concat.attrs["axis"] = ir::Attribute{int64_t{0}};
    out.nodes.push_back(std::move(concat));
  }
  for (size_t i = prefix; i < graph.nodes.size(); ++i) out.nodes.push_back(graph.nodes[i]);
  out.validate_and_sort();
  return out;
}

}  // namespace frugal::runtime
