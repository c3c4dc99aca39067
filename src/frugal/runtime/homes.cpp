#include "frugal/runtime/homes.h"

namespace frugal::runtime {

std::vector<int64_t> producers(const Plan& p) {
  std::vector<int64_t> producer(p.slot_of.size(), -1);
  for (size_t s = 0; s < p.steps.size(); ++s)
    for (int64_t sl : p.steps[s].out_slots)
      if (sl >= 0) producer[sl] = static_cast<int64_t>(s);
  return producer;
}

size_t buffer_bytes(const Plan& p, int64_t sl) {
  if (p.native_bytes[sl]) return p.native_bytes[sl];
  const auto& ti = p.info.at(p.slot_name[sl]);
  return static_cast<size_t>(shape_numel(*ti.shape)) * dtype_size(ti.dtype);
}

bool in_arena(const Plan& p, const std::vector<int64_t>& producer, int64_t sl) {
  if (sl < 0 || producer[sl] < 0 || p.is_output(sl) || p.constants[sl].defined()) return false;
  const PlanStep& st = p.steps[producer[sl]];
  const auto& ti = p.info.at(p.slot_name[sl]);
  return !st.dynamic && ti.shape.has_value();
}

void ensure_homes(Plan& p) {
  if (p.home_slot.size() == p.slot_of.size()) return;
  p.home_slot.assign(p.slot_of.size(), -1);
  p.home_offset.assign(p.slot_of.size(), 0);
}

}  // namespace frugal::runtime
