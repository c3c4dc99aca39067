#include "frugal/ops/cost.h"

#include <set>

namespace frugal::ops {

GraphCost analyze_cost(const ir::Graph& g, const GraphInfo& info) {
  GraphCost gc;
  gc.nodes.resize(g.nodes.size());
  for (const auto& [name, t] : g.initializers) gc.weight_bytes += static_cast<int64_t>(t.nbytes());
  std::set<std::string> counted_params;  // an initializer shared by nodes counts once
  for (size_t k = 0; k < g.nodes.size(); ++k) {
    const ir::Node& n = g.nodes[k];
    const auto state = info.nodes[k].state;
    if (state != NodeStatus::State::kStatic && state != NodeStatus::State::kDynamic) continue;
    const OpDef* def = find_op(n.domain, n.op_type);
    NodeCost& c = gc.nodes[k];
    CostContext cc{n, {}, {}};
    bool shapes_known = true;
    for (const auto& in : n.inputs) {
      if (in.empty()) {
        cc.in.emplace_back();
        continue;
      }
      const TensorInfo& ti = info.at(in);
      if (!ti.shape) {
        shapes_known = false;
        cc.in.emplace_back();
        continue;
      }
      cc.in.push_back(*ti.shape);
      c.bytes_read += shape_numel(*ti.shape) * static_cast<int64_t>(dtype_size(ti.dtype));
    }
    for (const auto& out : n.outputs) {
      if (out.empty()) {
        cc.out.emplace_back();
        continue;
      }
      const TensorInfo& ti = info.at(out);
      if (!ti.shape) {
        shapes_known = false;
        cc.out.emplace_back();
        continue;
      }
      cc.out.push_back(*ti.shape);
      c.bytes_written += shape_numel(*ti.shape) * static_cast<int64_t>(dtype_size(ti.dtype));
    }
    Work w;
    if (shapes_known) {
      if (def && def->cost) {
        w = def->cost(cc);
      } else {
        for (const auto& s : cc.out) w.flops += s.empty() ? 1 : shape_numel(s);
      }
    }
    if (w.params >= 0) {
      c.params = w.params;
    } else {
      for (const auto& in : n.inputs) {
        const Tensor* t = g.initializer(in);
        // Float tensors of rank >= 1 are weights; rank-0 scalars (Clip bounds, Pow
        // exponents) are constants, not parameters.
        if (t && dtype_is_float(t->dtype()) && t->rank() > 0 && counted_params.insert(in).second)
          c.params += t->numel();
      }
    }
    c.macs = w.macs;
    c.flops = w.flops;
    gc.total.params += c.params;
    gc.total.macs += c.macs;
    gc.total.flops += c.flops;
    gc.total.bytes_read += c.bytes_read;
    gc.total.bytes_written += c.bytes_written;
  }
  return gc;
}

}  // namespace frugal::ops
