#include "frugal/runtime/sum_in_place.h"

#include <algorithm>
#include <cstdlib>
#include <string>

#include "frugal/kernels/negotiation.h"
#include "frugal/runtime/homes.h"

namespace frugal::runtime {
namespace {

// The input slot whose buffer step `s`'s output may take, or -1: the kernel offers it, the
// step is its last reader and reads it once, and both values are arena buffers of one size
// on one device, neither placed by plan_concat_in_place nor sharing a buffer with a view
// (plan_views, which runs before: a view read after this step would see the sum; `ours`:
// homes made here).
int64_t shared_input(const Plan& p, const std::vector<int64_t>& producer,
                     const std::vector<bool>& ours, size_t s) {
  const PlanStep& st = p.steps[s];
  if (st.is_copy() || st.elided || st.dynamic || st.out_slots.empty()) return -1;
  const auto* offer = dynamic_cast<const kernels::OutputOverInput*>(st.kernel.get());
  if (!offer || !offer->output_over_input()) return -1;
  const size_t index = *offer->output_over_input();
  if (index >= st.in_slots.size()) return -1;
  const int64_t in = st.in_slots[index], out = st.out_slots[0];
  if (!in_arena(p, producer, in) || !in_arena(p, producer, out)) return -1;
  if (p.last_use[in] != static_cast<int64_t>(s) ||
      std::count(st.in_slots.begin(), st.in_slots.end(), in) != 1)
    return -1;
  if (p.slot_device[in] != p.slot_device[out] || buffer_bytes(p, in) != buffer_bytes(p, out) ||
      p.info.at(p.slot_name[in]).dtype != p.info.at(p.slot_name[out]).dtype)
    return -1;
  if (p.home_slot[out] >= 0 || (p.home_slot[in] >= 0 && !ours[in])) return -1;
  return in;
}

}  // namespace

void plan_sum_in_place(Plan& p) {
  const char* off = std::getenv("FRUGAL_NO_SUM_IN_PLACE");
  if (off && std::string(off) == "1") return;
  ensure_homes(p);
  const std::vector<int64_t> producer = producers(p);
  std::vector<bool> ours(p.slot_of.size(), false);
  for (size_t s = 0; s < p.steps.size(); ++s) {
    const int64_t in = shared_input(p, producer, ours, s);
    if (in < 0) continue;
    const int64_t out = p.steps[s].out_slots[0];
    // A chain of residual blocks shares one buffer: the input's root, or the input itself.
    const int64_t root = p.home_slot[in] >= 0 ? p.home_slot[in] : in;
    p.home_slot[root] = root;
    p.home_slot[out] = root;
    p.home_offset[out] = 0;
    ours[root] = ours[out] = true;
    p.assignments[s].impl += " [output over input " + p.slot_name[in] + "]";
  }
}

}  // namespace frugal::runtime
