// Concat in place (the plan stage plan_concat_in_place, runtime/plan.h). Where a Concat's
// output has nothing before its axis but dimensions of 1 (batch 1 for a channel Concat),
// each input is one contiguous byte range of the output: the input's producer can write
// it there directly, and the Concat has nothing left to do. DenseNet concatenates every
// earlier feature map before each layer, always as a prefix of the block's final Concat,
// so each of those Concats is a view of that one buffer and no feature is ever copied
// (torchvision's memory-efficient DenseNet is the same idea; Pleiss et al., 2017).
//
// Each value gets a home: the slot whose buffer holds it and the byte offset there. The
// Concats are visited last to first, so that the largest Concat of a chain is homed first
// and its prefixes find their inputs already placed, consistently. A Concat is elided only
// when all its inputs can live where it needs them; otherwise it runs as before.
// The stage runs after negotiate_layouts and places only values that stayed plain (the
// parts of a blocked or channels-last layout are not byte ranges of the whole): a placed
// value is one no kernel around it keeps in its own layout, so placing it costs no reorder.
// When it ran first (placed values then stayed plain), the convolutions around a lone
// Concat lost their blocked layouts, more than one copy saves (squeezenet1_1 5.4 against
// 4.1 ms, inception_v3 74.7 against 66.7, 1 thread), and once the scale-shift BN read
// channels-last, DenseNet at batch 1 ran about 12 % slower with its chains in place than
// copying in nhwc (bench/RESULTS.md, "DenseNet at batch 8"). Only buffers shared by a chain
// of at least two Concats (DenseNet's prefixes, whose copies grow with the square of the
// block's depth) are kept in place; the others copy (bench/RESULTS.md, "Concat in place:
// chains only"). FRUGAL_NO_CONCAT_IN_PLACE=1 turns the stage off (the A/B switch).
#include <cstdlib>
#include <map>
#include <set>
#include <string>

#include "frugal/runtime/plan.h"

namespace frugal::runtime {
namespace {

constexpr size_t kAlign = 64;  // every home keeps the arena's tensor alignment

struct Home {
  int64_t slot = -1;  // the root buffer's slot
  size_t offset = 0;
};

size_t bytes_of(const Plan& p, int64_t sl) {
  const auto& ti = p.info.at(p.slot_name[sl]);
  return static_cast<size_t>(shape_numel(*ti.shape)) * dtype_size(ti.dtype);
}

// A value that an elided Concat may place: written by a static, non-copy step of the
// plan into a plain buffer of the arena, on the Concat's device, and not a graph output.
bool placeable(const Plan& p, const std::vector<int64_t>& producer, int64_t sl,
               const Device* device, DType dtype) {
  if (sl < 0 || producer[sl] < 0 || p.is_output(sl) || p.native_bytes[sl] ||
      p.constants[sl].defined() || p.slot_device[sl] != device)
    return false;
  const PlanStep& st = p.steps[producer[sl]];
  const auto& ti = p.info.at(p.slot_name[sl]);
  return !st.dynamic && !st.is_copy() && ti.shape && ti.dtype == dtype;
}

// Whether the node is a static Concat with nothing but 1s before its axis, so that input k
// is the bytes [offset_k, offset_k + size_k) of the output.
bool contiguous_parts(const Plan& p, const PlanStep& st, const ir::Node& n) {
  if (n.op_type != "Concat" || !n.domain.empty() || st.dynamic || st.out_slots.size() != 1)
    return false;
  const auto& ti = p.info.at(n.outputs[0]);
  if (!ti.shape || ti.shape->empty()) return false;
  const auto rank = static_cast<int64_t>(ti.shape->size());
  int64_t axis = n.attr_int("axis", 0);
  if (axis < 0) axis += rank;
  for (int64_t d = 0; d < axis; ++d)
    if ((*ti.shape)[d] != 1) return false;
  return true;
}

// Undoes the Concats whose buffer no other elided Concat shares (see the top of the file):
// their steps run again and the values they placed go back to their own slots.
void keep_chains_only(Plan& p, std::vector<size_t>& elided, std::vector<Home>& home) {
  std::map<int64_t, int> concats_per_buffer;
  for (size_t s : elided) ++concats_per_buffer[home[p.steps[s].out_slots[0]].slot];
  std::vector<size_t> kept;
  for (size_t s : elided) {
    if (concats_per_buffer[home[p.steps[s].out_slots[0]].slot] >= 2) {
      kept.push_back(s);
    } else {
      p.steps[s].elided = false;
    }
  }
  for (Home& h : home)
    if (h.slot >= 0 && concats_per_buffer.count(h.slot) && concats_per_buffer[h.slot] < 2)
      h = Home{};
  elided = std::move(kept);
}

}  // namespace

void plan_concat_in_place(Plan& p) {
  p.home_slot.assign(p.slot_of.size(), -1);
  p.home_offset.assign(p.slot_of.size(), 0);
  p.concats_in_place = p.concat_bytes_not_copied = 0;
  const char* off = std::getenv("FRUGAL_NO_CONCAT_IN_PLACE");
  if (off && std::string(off) == "1") return;
  std::vector<int64_t> producer(p.slot_of.size(), -1);
  for (size_t s = 0; s < p.steps.size(); ++s)
    for (int64_t sl : p.steps[s].out_slots)
      if (sl >= 0) producer[sl] = static_cast<int64_t>(s);
  std::vector<Home> home(p.slot_of.size());
  std::vector<size_t> elided;  // steps
  for (size_t s = p.steps.size(); s-- > 0;) {
    PlanStep& st = p.steps[s];
    if (st.is_copy()) continue;
    const ir::Node& n = p.graph.nodes[st.node_index];
    if (!contiguous_parts(p, st, n)) continue;
    const int64_t out = st.out_slots[0];
    const auto& oi = p.info.at(n.outputs[0]);
    const Device* device = p.slot_device[out];
    if (!placeable(p, producer, out, device, oi.dtype)) continue;
    // Where this Concat's bytes live: its own home, or where its first input already is.
    Home base = home[out];
    if (base.slot < 0 && st.in_slots[0] >= 0 && home[st.in_slots[0]].slot >= 0)
      base = home[st.in_slots[0]];
    if (base.slot < 0) base = {out, 0};
    bool ok = true;
    std::set<int64_t> seen;
    size_t at = base.offset;
    for (int64_t in : st.in_slots) {
      ok = ok && placeable(p, producer, in, device, oi.dtype) && seen.insert(in).second &&
           at % kAlign == 0 &&
           (home[in].slot < 0 || (home[in].slot == base.slot && home[in].offset == at));
      if (!ok) break;
      at += bytes_of(p, in);
    }
    if (!ok) continue;
    home[out] = base;
    at = base.offset;
    for (int64_t in : st.in_slots) {
      home[in] = {base.slot, at};
      at += bytes_of(p, in);
    }
    st.elided = true;
    elided.push_back(s);
  }
  keep_chains_only(p, elided, home);
  for (size_t s : elided) {
    p.assignments[s].impl = "in place (its inputs write into its output)";
    ++p.concats_in_place;
    p.concat_bytes_not_copied += bytes_of(p, p.steps[s].out_slots[0]);
  }
  for (size_t sl = 0; sl < home.size(); ++sl) {
    p.home_slot[sl] = home[sl].slot;
    p.home_offset[sl] = home[sl].offset;
  }
}

}  // namespace frugal::runtime
