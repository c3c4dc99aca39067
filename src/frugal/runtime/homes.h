// What the plan stages that place one value in another's buffer share
// (plan_concat_in_place, plan_views, plan_sum_in_place; Plan::home_slot).
#pragma once

#include <cstdint>
#include <vector>

#include "frugal/runtime/plan.h"

namespace frugal::runtime {

// Per slot: the step writing it, or -1 (graph inputs, constants).
std::vector<int64_t> producers(const Plan& p);
// The value's buffer size: its negotiated layout's (padding included), else plain.
size_t buffer_bytes(const Plan& p, int64_t slot);
// A value in the arena, written by a static step: what plan_memory_per_device places.
bool in_arena(const Plan& p, const std::vector<int64_t>& producer, int64_t slot);
// Makes sure Plan::home_slot / home_offset have an entry per slot (-1: no home yet).
void ensure_homes(Plan& p);

}  // namespace frugal::runtime
