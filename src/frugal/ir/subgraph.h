// Dataflow questions about a Graph (who reads a value) and model surgery (cutting a
// subgraph out of a graph between chosen values).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "frugal/ir/graph.h"

namespace frugal::ir {

// One node input slot reading a value.
struct Reader {
  size_t node;  // index in graph.nodes
  size_t slot;  // index in that node's inputs
};

// Readers of every value, built once (a lookup per value is then a map find).
class ReaderIndex {
 public:
  explicit ReaderIndex(const Graph& graph);
  // The node input slots reading `value`, in node order; graph outputs are not slots.
  const std::vector<Reader>& slots(const std::string& value) const;
  bool is_graph_output(const std::string& value) const;

 private:
  std::map<std::string, std::vector<Reader>> slots_;
  std::map<std::string, bool> outputs_;
};

// What counts as a second reader for sole_reader. Callers differ on purpose: a rewrite
// that changes the value itself must keep a graph output intact (kOutputCounts), one that
// only looks at its consumer does not care (kOutputIgnored); a node reading the value in
// two slots is one consumer for some questions (kPerNode) and two for others (kPerSlot).
enum class GraphOutputs { kIgnored, kCount };
enum class DoubleRead { kOneReader, kTwoReaders };

// The index of the only node reading `value`, or -1 when none or several read it (under
// the two rules above).
int64_t sole_reader(const Graph& graph, const std::string& value, GraphOutputs outputs,
                    DoubleRead twice);

// The part of `graph` that computes `outputs` from `inputs`: the nodes on which some output
// depends, stopping at the inputs. Values the kept nodes read that are neither produced by a
// kept node, nor named in `inputs`, nor initializers are an error naming the value and its
// reader (the cut leaves it undefined). Initializers the kept nodes read are kept (and only
// those); named inputs that are initializers stay initializers. Value shapes come from the
// graph's inputs/outputs/value_info where known. Throws UserError for a name that is no value
// of the graph, or an output that needs no node and is not an input.
Graph extract(const Graph& graph, const std::vector<std::string>& inputs,
              const std::vector<std::string>& outputs);

// The ValueInfo the graph knows for `value` (graph input, output or value_info; for an
// initializer its dtype and shape), or one with only the name.
ValueInfo value_info_of(const Graph& graph, const std::string& value);

}  // namespace frugal::ir
