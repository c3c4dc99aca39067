#include "frugal/pipeline/chain.h"

#include <algorithm>
#include <cmath>
#include <map>

#include "frugal/core/error.h"
#include "frugal/ir/subgraph.h"

namespace frugal::pipeline {

Chain::Chain(const ir::Graph& graph, double bytes_per_param, const ops::InferOptions& infer)
    : graph_(graph) {
  graph_.validate_and_sort();
  info_ = ops::infer_graph(graph_, infer);
  ops::require_supported(graph_, info_, graph_.name.empty() ? "model" : graph_.name);
  cost_ = ops::analyze_cost(graph_, info_);
  annotate_shapes(infer);
  index_values(bytes_per_param);
}

// Records each intermediate value's dtype and shape; a dimension that changes with the batch
// (inferred again at batch + 1) stays symbolic, as the model's inputs declare it.
void Chain::annotate_shapes(const ops::InferOptions& infer) {
  ops::InferOptions other = infer;
  other.batch = infer.batch + 1;
  ops::GraphInfo info2;
  try {
    info2 = ops::infer_graph(graph_, other);
  } catch (const UserError&) {
    info2 = info_;  // a model with a fixed batch: all dimensions are fixed
  }
  for (const auto& [name, t] : info_.values) {
    if (graph_.initializer(name) || graph_.find_input(name) || !t.shape) continue;
    ir::ValueInfo vi;
    vi.name = name;
    vi.dtype = t.dtype;
    vi.shape = std::vector<ir::Dim>{};
    auto it = info2.values.find(name);
    const bool comparable =
        it != info2.values.end() && it->second.shape && it->second.shape->size() == t.shape->size();
    for (size_t d = 0; d < t.shape->size(); ++d) {
      const int64_t v = (*t.shape)[d];
      if (comparable && (*it->second.shape)[d] != v)
        vi.shape->push_back({-1, "N"});
      else
        vi.shape->push_back({v, ""});
    }
    graph_.value_info[name] = vi;
  }
  for (auto& out : graph_.outputs)
    if (auto it = graph_.value_info.find(out.name); it != graph_.value_info.end()) {
      if (!out.shape) out.shape = it->second.shape;
      if (out.dtype == DType::kUndefined) out.dtype = it->second.dtype;
      graph_.value_info.erase(it);
    }
}

void Chain::index_values(double bytes_per_param) {
  std::map<std::string, size_t> id;
  auto value = [&](const std::string& name) {
    auto [it, fresh] = id.emplace(name, values_.size());
    if (fresh) {
      Value v;
      v.name = name;
      if (const Tensor* t = graph_.initializer(name)) {
        v.constant = true;
        const bool weight = t->dtype() == DType::kF32 || t->dtype() == DType::kF64;
        v.param_elems = weight ? t->numel() : 0;
        v.param_bytes = weight ? static_cast<int64_t>(std::ceil(t->numel() * bytes_per_param))
                               : static_cast<int64_t>(t->nbytes());
      } else if (auto ti = info_.values.find(name); ti != info_.values.end() && ti->second.shape) {
        // Float activations travel and are stored at the partition's precision (an int8
        // accelerator passes u8 tensors); other types as they are.
        const DType dt = ti->second.dtype;
        const double per =
            dt == DType::kF32 ? bytes_per_param : static_cast<double>(dtype_size(dt));
        v.bytes = static_cast<int64_t>(
            std::ceil(static_cast<double>(shape_numel(*ti->second.shape)) * per));
      }
      values_.push_back(v);
    }
    return it->second;
  };
  for (const auto& in : graph_.inputs) value(in.name);
  node_inputs_.resize(size());
  node_outputs_.resize(size());
  for (size_t i = 0; i < size(); ++i) {
    for (const auto& in : graph_.nodes[i].inputs) {
      if (in.empty()) continue;
      const size_t v = value(in);
      node_inputs_[i].push_back(v);
      if (values_[v].readers.empty() || values_[v].readers.back() != i)
        values_[v].readers.push_back(i);
    }
    for (const auto& out : graph_.nodes[i].outputs) {
      if (out.empty()) continue;
      const size_t v = value(out);
      values_[v].producer = static_cast<int64_t>(i);
      node_outputs_[i].push_back(v);
    }
  }
  for (const auto& o : graph_.outputs) values_[value(o.name)].output = true;
  macs_prefix_.assign(size() + 1, 0);
  layers_prefix_.assign(size() + 1, 0);
  for (size_t i = 0; i < size(); ++i) {
    macs_prefix_[i + 1] = macs_prefix_[i] + cost_.nodes[i].macs;
    layers_prefix_[i + 1] = layers_prefix_[i] + (cost_.nodes[i].macs > 0 ? 1 : 0);
  }
}

SegmentStats Chain::stats(size_t first, size_t last) const {
  FRUGAL_CHECK(first < last && last <= size(), "bad segment");
  SegmentStats s;
  s.first = first;
  s.last = last;
  s.macs = macs_prefix_[last] - macs_prefix_[first];
  s.layers = layers_prefix_[last] - layers_prefix_[first];
  const size_t len = last - first;
  std::vector<int64_t> delta(len + 1, 0);  // live activation bytes, as a difference array
  std::vector<char> seen(values_.size(), 0);
  auto live = [&](size_t from, size_t to, int64_t bytes) {  // steps [from, to] of the segment
    delta[from - first] += bytes;
    delta[to - first + 1] -= bytes;
  };
  // The last step of [first, last) that needs value v, and whether v leaves the segment.
  auto end_of = [&](const Value& v, size_t from) {
    auto after = std::lower_bound(v.readers.begin(), v.readers.end(), last);
    const bool leaves = after != v.readers.end() || v.output;
    if (leaves) return std::pair{last - 1, true};
    auto before = std::lower_bound(v.readers.begin(), v.readers.end(), from);
    return std::pair{before == after ? from : *(after - 1), false};
  };
  for (size_t i = first; i < last; ++i) {
    for (size_t vid : node_inputs_[i]) {
      const Value& v = values_[vid];
      if (seen[vid]) continue;
      seen[vid] = 1;
      if (v.constant) {
        s.params += v.param_elems;
        s.param_bytes += v.param_bytes;
      } else if (v.producer < static_cast<int64_t>(first)) {
        s.inputs.push_back(v.name);
        s.bytes_in += v.bytes;
        live(first, end_of(v, first).first, v.bytes);
      }
    }
    for (size_t vid : node_outputs_[i]) {
      const Value& v = values_[vid];
      seen[vid] = 1;
      const auto [end, leaves] = end_of(v, i);
      live(i, end, v.bytes);
      if (leaves) {
        s.outputs.push_back(v.name);
        s.bytes_out += v.bytes;
      }
    }
  }
  int64_t running = 0;
  for (size_t k = 0; k < len; ++k) {
    running += delta[k];
    s.activation_bytes = std::max(s.activation_bytes, running);
  }
  return s;
}

ir::Graph Chain::segment_graph(size_t first, size_t last) const {
  const SegmentStats s = stats(first, last);
  ir::Graph g = ir::extract(graph_, s.inputs, s.outputs);
  FRUGAL_CHECK(g.nodes.size() == last - first, "a segment's extraction kept other nodes");
  return g;
}

}  // namespace frugal::pipeline
