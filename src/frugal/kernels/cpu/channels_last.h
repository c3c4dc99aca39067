// The layout negotiation (layout.h) of a cpu kernel whose input 0 and output 0 have one 4-D
// shape and may each be plain or channels-last (NHWC): the layout oneDNN's fp32
// convolutions use on this CPU, so that the kernel sits between two of them with no
// reorder. Kernels with their own loops (the scale-shift pass, SqueezeExcite) derive from
// it and read the two flags.
#pragma once

#include <optional>

#include "frugal/kernels/cpu/layout.h"
#include "frugal/kernels/cpu/onednn_kernel.h"

namespace frugal::kernels::cpu {

class ChannelsLastIo : public LayoutNegotiable {
 public:
  explicit ChannelsLastIo(Shape shape) : io_shape_(std::move(shape)) {}

  std::optional<OpaqueLayout> native_output(size_t index) const override {
    if (index != 0 || io_shape_.size() != 4) return std::nullopt;
    const dnnl::memory::desc md(io_shape_, dnnl::memory::data_type::f32,
                                dnnl::memory::format_tag::nhwc);
    return OpaqueLayout{layout_key(md), md.get_size()};
  }
  std::optional<OpaqueLayout> native_input(size_t index) const override {
    return native_output(index);  // the same channels-last layout of the same shape
  }
  void adopt_native_output(size_t index) override {
    FRUGAL_CHECK(index == 0 && io_shape_.size() == 4, "no native layout to adopt for this output");
    out_channels_last_ = true;
  }
  void adopt_native_input(size_t index) override {
    FRUGAL_CHECK(index == 0 && io_shape_.size() == 4, "no native layout to adopt for this input");
    in_channels_last_ = true;
  }

 protected:
  bool in_channels_last_ = false;   // input 0 NHWC
  bool out_channels_last_ = false;  // output 0 NHWC

 private:
  Shape io_shape_;
};

}  // namespace frugal::kernels::cpu
