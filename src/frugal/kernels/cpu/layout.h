// Blocked layouts between consecutive cpu kernels. A oneDNN primitive prefers its own
// memory format (channels blocked by 16: nChw16c), and each cpu kernel converts from and to
// plain row-major at its boundaries. When a value flows only between such kernels, the
// Session asks the producer and every reader to keep it in the producer's format: both
// reorders go, and the Session allocates the value by that format's byte size (padded
// channels included). A value a non-cpu kernel or the user sees stays plain (the Session's
// contract); the Session decides, the kernels only describe and adopt.
//
// No oneDNN type appears here, so that the runtime can use it without oneDNN's headers.
#pragma once

#include <cstddef>
#include <optional>
#include <string>

namespace frugal::kernels::cpu {

struct OpaqueLayout {
  std::string key;   // equal keys: the same bytes at the same places
  size_t bytes = 0;  // buffer size in this layout
};

class LayoutNegotiable {
 public:
  virtual ~LayoutNegotiable() = default;
  // The format the primitive writes output `index` in before its reorder to plain, or
  // reads input `index` in after its reorder from plain; nullopt when there is no reorder.
  virtual std::optional<OpaqueLayout> native_output(size_t index) const = 0;
  virtual std::optional<OpaqueLayout> native_input(size_t index) const = 0;
  // From now on the tensor bound to output/input `index` holds that format: its reorder
  // goes. Only before the first run.
  virtual void adopt_native_output(size_t index) = 0;
  virtual void adopt_native_input(size_t index) = 0;
};

}  // namespace frugal::kernels::cpu
