#include "frugal/ir/subgraph.h"

#include <set>

#include "frugal/core/error.h"

namespace frugal::ir {

ReaderIndex::ReaderIndex(const Graph& graph) {
  for (size_t i = 0; i < graph.nodes.size(); ++i)
    for (size_t s = 0; s < graph.nodes[i].inputs.size(); ++s)
      if (graph.nodes[i].has_input(s)) slots_[graph.nodes[i].inputs[s]].push_back({i, s});
  for (const auto& o : graph.outputs) outputs_[o.name] = true;
}

const std::vector<Reader>& ReaderIndex::slots(const std::string& value) const {
  static const std::vector<Reader> kNone;
  auto it = slots_.find(value);
  return it == slots_.end() ? kNone : it->second;
}

bool ReaderIndex::is_graph_output(const std::string& value) const {
  return outputs_.count(value) != 0;
}

int64_t sole_reader(const Graph& graph, const std::string& value, GraphOutputs outputs,
                    DoubleRead twice) {
  if (outputs == GraphOutputs::kCount)
    for (const auto& o : graph.outputs)
      if (o.name == value) return -1;
  int64_t found = -1;
  for (size_t i = 0; i < graph.nodes.size(); ++i)
    for (const auto& in : graph.nodes[i].inputs) {
      if (in != value) continue;
      const bool same_node = found == static_cast<int64_t>(i);
      if (found >= 0 && !(same_node && twice == DoubleRead::kOneReader)) return -1;
      found = static_cast<int64_t>(i);
    }
  return found;
}

ValueInfo value_info_of(const Graph& graph, const std::string& value) {
  for (const auto* list : {&graph.inputs, &graph.outputs})
    for (const auto& vi : *list)
      if (vi.name == value) return vi;
  if (auto it = graph.value_info.find(value); it != graph.value_info.end()) {
    ValueInfo vi = it->second;
    vi.name = value;
    return vi;
  }
  ValueInfo vi;
  vi.name = value;
  if (const Tensor* t = graph.initializer(value)) {
    vi.dtype = t->dtype();
    std::vector<Dim> dims;
    for (int64_t d : t->shape()) dims.push_back({d, ""});
    vi.shape = dims;
  }
  return vi;
}

namespace {

// Every value name the graph defines, with the node producing it (-1 for sources).
std::map<std::string, int64_t> producers(const Graph& graph) {
  std::map<std::string, int64_t> p;
  for (const auto& vi : graph.inputs) p[vi.name] = -1;
  for (const auto& [name, t] : graph.initializers) p[name] = -1;
  for (size_t i = 0; i < graph.nodes.size(); ++i)
    for (const auto& o : graph.nodes[i].outputs)
      if (!o.empty()) p[o] = static_cast<int64_t>(i);
  return p;
}

void check_known(const std::map<std::string, int64_t>& prod, const std::vector<std::string>& names,
                 const std::string& what) {
  for (const auto& n : names)
    if (!prod.count(n)) throw UserError(what + ": no value named '" + n + "' in the graph");
}

// Marks the nodes the outputs depend on, walking back from them and stopping at `inputs`.
std::vector<bool> needed_nodes(const Graph& graph, const std::map<std::string, int64_t>& prod,
                               const std::set<std::string>& inputs,
                               const std::vector<std::string>& outputs) {
  std::vector<bool> keep(graph.nodes.size(), false);
  std::vector<std::pair<std::string, std::string>> todo;  // value, who reads it
  for (const auto& o : outputs) todo.push_back({o, "graph output"});
  std::set<std::string> seen;
  while (!todo.empty()) {
    auto [v, reader] = todo.back();
    todo.pop_back();
    if (!seen.insert(v).second || inputs.count(v) || graph.initializer(v)) continue;
    const int64_t p = prod.at(v);
    if (p < 0)
      throw UserError("value '" + v + "' (read by " + reader +
                      ") is a graph input outside the cut: add it to the inputs");
    keep[static_cast<size_t>(p)] = true;
    const Node& n = graph.nodes[static_cast<size_t>(p)];
    for (const auto& in : n.inputs)
      if (!in.empty()) todo.push_back({in, n.describe()});
  }
  return keep;
}

}  // namespace

Graph extract(const Graph& graph, const std::vector<std::string>& inputs,
              const std::vector<std::string>& outputs) {
  if (outputs.empty()) throw UserError("extract: no outputs named");
  const auto prod = producers(graph);
  check_known(prod, inputs, "inputs");
  check_known(prod, outputs, "outputs");
  const std::set<std::string> input_set(inputs.begin(), inputs.end());
  const std::vector<bool> keep = needed_nodes(graph, prod, input_set, outputs);

  Graph sub;
  sub.name = graph.name;
  sub.opsets = graph.opsets;
  sub.metadata = graph.metadata;
  sub.ir_version = graph.ir_version;
  sub.producer_name = graph.producer_name;
  sub.producer_version = graph.producer_version;
  std::set<std::string> read;
  for (size_t i = 0; i < graph.nodes.size(); ++i) {
    if (!keep[i]) continue;
    sub.nodes.push_back(graph.nodes[i]);
    for (const auto& in : graph.nodes[i].inputs) read.insert(in);
    for (const auto& o : graph.nodes[i].outputs)
      if (auto it = graph.value_info.find(o); it != graph.value_info.end())
        sub.value_info[o] = it->second;
  }
  for (const auto& o : outputs) read.insert(o);
  for (const auto& in : inputs) {
    if (graph.initializer(in)) continue;
    if (!read.count(in))
      throw UserError("inputs: '" + in + "' is not read by the outputs' computation");
    sub.inputs.push_back(value_info_of(graph, in));
  }
  for (const auto& [name, t] : graph.initializers)
    if (read.count(name)) sub.initializers.emplace(name, t);
  for (const auto& o : outputs) {
    sub.outputs.push_back(value_info_of(graph, o));
    sub.value_info.erase(o);
  }
  for (const auto& in : inputs) sub.value_info.erase(in);
  sub.validate_and_sort();
  return sub;
}

}  // namespace frugal::ir
