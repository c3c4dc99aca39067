// The one in-memory model representation. Values are named (as in ONNX); a node
// reads and writes values by name; an empty input name is an omitted optional input.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "frugal/core/tensor.h"

namespace frugal::ir {

struct Attribute {
  enum class Kind { kFloat, kInt, kString, kTensor, kFloats, kInts, kStrings };
  std::variant<float, int64_t, std::string, Tensor, std::vector<float>, std::vector<int64_t>,
               std::vector<std::string>>
      value;
  Kind kind() const { return static_cast<Kind>(value.index()); }
};
std::string_view attribute_kind_name(Attribute::Kind k);

struct Node {
  std::string name;
  std::string op_type;
  std::string domain;  // "" is the default ONNX domain (also "ai.onnx")
  std::vector<std::string> inputs;
  std::vector<std::string> outputs;
  std::map<std::string, Attribute> attrs;

  bool has_attr(const std::string& key) const { return attrs.count(key) != 0; }
  // Typed attribute access; a wrong kind throws UserError naming the node and attribute.
  int64_t attr_int(const std::string& key, int64_t dflt) const;
  int64_t attr_int(const std::string& key) const;  // required
  float attr_float(const std::string& key, float dflt) const;
  std::string attr_string(const std::string& key, const std::string& dflt) const;
  std::vector<int64_t> attr_ints(const std::string& key, std::vector<int64_t> dflt = {}) const;
  std::vector<float> attr_floats(const std::string& key, std::vector<float> dflt = {}) const;
  std::vector<std::string> attr_strings(const std::string& key) const;
  const Tensor& attr_tensor(const std::string& key) const;

  // "node 'conv1' (Conv)" for error messages.
  std::string describe() const;
  bool has_input(size_t i) const { return i < inputs.size() && !inputs[i].empty(); }
};

// A dimension is a size >= 0, or unknown (-1) with an optional symbolic name ("batch").
struct Dim {
  int64_t value = -1;
  std::string param;
  bool known() const { return value >= 0; }
};

struct ValueInfo {
  std::string name;
  DType dtype = DType::kUndefined;
  std::optional<std::vector<Dim>> shape;  // nullopt: rank unknown
  // The concrete shape; throws UserError when any dimension is unknown.
  Shape concrete_shape() const;
  std::string shape_text() const;  // "batchx3x224x224", "?" when unknown
};

class Graph {
 public:
  std::string name;
  std::vector<Node> nodes;
  std::vector<ValueInfo> inputs;   // graph inputs, initializers excluded
  std::vector<ValueInfo> outputs;  // graph outputs
  std::map<std::string, Tensor> initializers;
  std::map<std::string, int64_t> opsets;  // domain ("" for ONNX) -> version
  std::map<std::string, ValueInfo> value_info;  // shapes of intermediate values, when known
  std::map<std::string, std::string> metadata;  // ModelProto.metadata_props
  int64_t ir_version = 8;
  std::string producer_name = "frugal";
  std::string producer_version;
  std::string doc;

  int64_t opset(const std::string& domain = "") const;
  const Tensor* initializer(const std::string& name) const;
  const ValueInfo* find_input(const std::string& name) const;
  // Index of the node producing `value`, or -1 (graph input, initializer or unknown).
  int64_t producer(const std::string& value) const;

  // Checks structural consistency: every node input is produced by exactly one earlier
  // source (graph input, initializer, node output), no value is produced twice, no cycle,
  // graph outputs exist. Reorders nodes topologically when they are out of order.
  // Throws UserError naming the node/value and the reason.
  void validate_and_sort();

  // A fresh value or node name with the given prefix, unused in the graph.
  std::string unique_name(const std::string& prefix) const;
};

}  // namespace frugal::ir
