#include "frugal/ir/graph.h"

#include <set>
#include <unordered_map>
#include <unordered_set>

namespace frugal::ir {

std::string_view attribute_kind_name(Attribute::Kind k) {
  switch (k) {
    case Attribute::Kind::kFloat: return "float";
    case Attribute::Kind::kInt: return "int";
    case Attribute::Kind::kString: return "string";
    case Attribute::Kind::kTensor: return "tensor";
    case Attribute::Kind::kFloats: return "floats";
    case Attribute::Kind::kInts: return "ints";
    case Attribute::Kind::kStrings: return "strings";
  }
  return "?";
}

std::string Node::describe() const {
  return "node '" + name + "' (" + op_type + ")";
}

namespace {
template <typename T>
const T& get_attr(const Node& n, const std::string& key, Attribute::Kind kind) {
  auto it = n.attrs.find(key);
  if (it == n.attrs.end())
    throw UserError(n.describe() + ": missing required attribute '" + key + "'");
  if (it->second.kind() != kind)
    throw UserError(n.describe() + ": attribute '" + key + "' is " +
                    std::string(attribute_kind_name(it->second.kind())) + ", expected " +
                    std::string(attribute_kind_name(kind)));
  return std::get<T>(it->second.value);
}
}  // namespace

int64_t Node::attr_int(const std::string& key, int64_t dflt) const {
  return has_attr(key) ? get_attr<int64_t>(*this, key, Attribute::Kind::kInt) : dflt;
}
int64_t Node::attr_int(const std::string& key) const {
  return get_attr<int64_t>(*this, key, Attribute::Kind::kInt);
}
float Node::attr_float(const std::string& key, float dflt) const {
  if (!has_attr(key)) return dflt;
  // Some exporters write integral values for float attributes; accept them.
  if (attrs.at(key).kind() == Attribute::Kind::kInt)
    return static_cast<float>(std::get<int64_t>(attrs.at(key).value));
  return get_attr<float>(*this, key, Attribute::Kind::kFloat);
}
std::string Node::attr_string(const std::string& key, const std::string& dflt) const {
  return has_attr(key) ? get_attr<std::string>(*this, key, Attribute::Kind::kString) : dflt;
}
std::vector<int64_t> Node::attr_ints(const std::string& key, std::vector<int64_t> dflt) const {
  return has_attr(key) ? get_attr<std::vector<int64_t>>(*this, key, Attribute::Kind::kInts) : dflt;
}
std::vector<float> Node::attr_floats(const std::string& key, std::vector<float> dflt) const {
  return has_attr(key) ? get_attr<std::vector<float>>(*this, key, Attribute::Kind::kFloats) : dflt;
}
std::vector<std::string> Node::attr_strings(const std::string& key) const {
  return get_attr<std::vector<std::string>>(*this, key, Attribute::Kind::kStrings);
}
const Tensor& Node::attr_tensor(const std::string& key) const {
  return get_attr<Tensor>(*this, key, Attribute::Kind::kTensor);
}

Shape ValueInfo::concrete_shape() const {
  if (!shape) throw UserError("value '" + name + "' has unknown rank");
  Shape s;
  for (const Dim& d : *shape) {
    if (!d.known())
      throw UserError("value '" + name + "' has an unknown dimension" +
                      (d.param.empty() ? std::string() : " '" + d.param + "'"));
    s.push_back(d.value);
  }
  return s;
}

std::string ValueInfo::shape_text() const {
  if (!shape) return "?";
  if (shape->empty()) return "scalar";
  std::string s;
  for (size_t i = 0; i < shape->size(); ++i) {
    if (i) s += "x";
    const Dim& d = (*shape)[i];
    s += d.known() ? std::to_string(d.value) : (d.param.empty() ? "?" : d.param);
  }
  return s;
}

int64_t Graph::opset(const std::string& domain) const {
  auto it = opsets.find(domain);
  if (it == opsets.end() && domain == "ai.onnx") it = opsets.find("");
  return it == opsets.end() ? 0 : it->second;
}

const Tensor* Graph::initializer(const std::string& n) const {
  auto it = initializers.find(n);
  return it == initializers.end() ? nullptr : &it->second;
}

const ValueInfo* Graph::find_input(const std::string& n) const {
  for (const auto& v : inputs)
    if (v.name == n) return &v;
  return nullptr;
}

int64_t Graph::producer(const std::string& value) const {
  for (size_t i = 0; i < nodes.size(); ++i)
    for (const auto& o : nodes[i].outputs)
      if (o == value) return static_cast<int64_t>(i);
  return -1;
}

void Graph::validate_and_sort() {
  std::unordered_map<std::string, int64_t> producer_of;  // value -> node index, -1 for sources
  auto add_source = [&](const std::string& v, const std::string& what) {
    if (v.empty()) throw UserError(what + " has an empty name");
    if (!producer_of.emplace(v, -1).second)
      throw UserError("value '" + v + "' is defined twice (" + what + ")");
  };
  for (const auto& in : inputs) {
    // ONNX (ir_version < 4) lists initializers among the inputs too: those are not duplicates.
    if (initializers.count(in.name)) continue;
    add_source(in.name, "graph input '" + in.name + "'");
  }
  for (const auto& [n, t] : initializers) add_source(n, "initializer '" + n + "'");
  for (size_t i = 0; i < nodes.size(); ++i) {
    const Node& node = nodes[i];
    if (node.op_type.empty()) throw UserError("node #" + std::to_string(i) + " has no op_type");
    for (const auto& o : node.outputs) {
      if (o.empty()) continue;
      auto [it, fresh] = producer_of.emplace(o, static_cast<int64_t>(i));
      if (!fresh)
        throw UserError(node.describe() + ": output '" + o + "' is already defined " +
                        (it->second < 0 ? std::string("as a graph input or initializer")
                                        : "by " + nodes[it->second].describe()));
    }
  }
  // Kahn's algorithm; stable (keeps the file's order when it is already topological).
  std::vector<int> pending(nodes.size(), 0);
  std::vector<std::vector<size_t>> consumers(nodes.size());
  for (size_t i = 0; i < nodes.size(); ++i) {
    std::unordered_set<int64_t> deps;
    for (const auto& in : nodes[i].inputs) {
      if (in.empty()) continue;
      auto it = producer_of.find(in);
      if (it == producer_of.end())
        throw UserError(nodes[i].describe() + ": input '" + in +
                        "' is not a graph input, an initializer or any node's output");
      if (it->second >= 0 && deps.insert(it->second).second) {
        ++pending[i];
        consumers[it->second].push_back(i);
      }
    }
  }
  std::set<size_t> ready;
  for (size_t i = 0; i < nodes.size(); ++i)
    if (pending[i] == 0) ready.insert(i);
  std::vector<size_t> order;
  order.reserve(nodes.size());
  while (!ready.empty()) {
    size_t i = *ready.begin();
    ready.erase(ready.begin());
    order.push_back(i);
    for (size_t c : consumers[i])
      if (--pending[c] == 0) ready.insert(c);
  }
  if (order.size() != nodes.size()) {
    for (size_t i = 0; i < nodes.size(); ++i)
      if (pending[i] > 0)
        throw UserError(nodes[i].describe() + " is part of a cycle in the graph");
  }
  for (const auto& out : outputs)
    if (!producer_of.count(out.name))
      throw UserError("graph output '" + out.name + "' is not produced by any node or input");
  bool sorted = true;
  for (size_t i = 0; i < order.size(); ++i) sorted &= order[i] == i;
  if (!sorted) {
    std::vector<Node> reordered;
    reordered.reserve(nodes.size());
    for (size_t i : order) reordered.push_back(std::move(nodes[i]));
    nodes = std::move(reordered);
  }
}

std::string Graph::unique_name(const std::string& prefix) const {
  std::unordered_set<std::string> used;
  for (const auto& n : nodes) {
    used.insert(n.name);
    for (const auto& o : n.outputs) used.insert(o);
  }
  for (const auto& [n, t] : initializers) used.insert(n);
  for (const auto& v : inputs) used.insert(v.name);
  if (!used.count(prefix)) return prefix;
  for (int i = 1;; ++i) {
    std::string c = prefix + "_" + std::to_string(i);
    if (!used.count(c)) return c;
  }
}

}  // namespace frugal::ir
