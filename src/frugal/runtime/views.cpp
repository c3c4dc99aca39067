#include "frugal/runtime/views.h"

#include <cstdlib>
#include <optional>
#include <string>
#include <vector>

#include "frugal/kernels/views.h"
#include "frugal/runtime/homes.h"

namespace frugal::runtime {
namespace {

struct Placement {
  int64_t slot = -1;  // the output
  int64_t root = -1;  // the buffer's slot
  size_t offset = 0;  // of the output in it
  int64_t input = -1;
};

// Where output `o` of step `s` can live in its input's buffer, or nullopt: the kernel says
// its bytes are the input's, both values are arena buffers of one device, the output is
// not placed yet, fits the input's buffer and keeps the arena's alignment.
std::optional<Placement> place_view(const Plan& p, const std::vector<int64_t>& producer,
                                    const kernels::OutputAsView& k, size_t s, size_t o) {
  const PlanStep& st = p.steps[s];
  const int64_t out = st.out_slots[o];
  const auto view = k.output_view(o);
  if (!view || view->input >= st.in_slots.size()) return std::nullopt;
  const int64_t in = st.in_slots[view->input];
  if (!in_arena(p, producer, in) || !in_arena(p, producer, out) || p.home_slot[out] >= 0 ||
      p.slot_device[in] != p.slot_device[out] ||
      view->offset + buffer_bytes(p, out) > buffer_bytes(p, in))
    return std::nullopt;
  const bool homed = p.home_slot[in] >= 0;
  const size_t offset = (homed ? p.home_offset[in] : 0) + view->offset;
  if (offset % kTensorAlignment != 0) return std::nullopt;
  return Placement{out, homed ? p.home_slot[in] : in, offset, in};
}

// Every output of step `s` as a view, or nothing (the kernel runs for all of them).
std::vector<Placement> views_of_step(const Plan& p, const std::vector<int64_t>& producer,
                                     size_t s) {
  const PlanStep& st = p.steps[s];
  if (st.is_copy() || st.elided || st.dynamic || st.out_slots.empty()) return {};
  const auto* k = dynamic_cast<const kernels::OutputAsView*>(st.kernel.get());
  if (!k) return {};
  std::vector<Placement> all;
  for (size_t o = 0; o < st.out_slots.size(); ++o) {
    if (st.out_slots[o] < 0) continue;
    const auto v = place_view(p, producer, *k, s, o);
    if (!v) return {};
    all.push_back(*v);
  }
  return all;
}

}  // namespace

void plan_views(Plan& p) {
  ensure_homes(p);
  p.views = p.view_bytes_not_copied = 0;
  const char* off = std::getenv("FRUGAL_NO_VIEWS");
  if (off && std::string(off) == "1") return;
  const std::vector<int64_t> producer = producers(p);
  // In run order, so that a view of a view finds its input placed already.
  for (size_t s = 0; s < p.steps.size(); ++s) {
    const std::vector<Placement> views = views_of_step(p, producer, s);
    if (views.empty()) continue;
    std::string of;
    for (const Placement& v : views) {
      if (p.home_slot[v.root] < 0) p.home_slot[v.root] = v.root;
      p.home_slot[v.slot] = v.root;
      p.home_offset[v.slot] = v.offset;
      p.view_bytes_not_copied += buffer_bytes(p, v.slot);
      of = p.slot_name[v.input];
    }
    p.steps[s].elided = true;
    p.assignments[s].impl = "view (its output is " + of + "'s bytes: nothing moves)";
    ++p.views;
  }
}

}  // namespace frugal::runtime
