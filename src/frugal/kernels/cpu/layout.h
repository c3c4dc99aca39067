// Blocked layouts between consecutive cpu kernels and u8 values between int8 kernels: the
// cpu backend's side of kernels/negotiation.h. A oneDNN primitive prefers its own memory
// format (nChw16c) and each cpu kernel converts from and to plain row-major at its
// boundaries (OnednnKernel); an int8 kernel quantizes its float32 input to u8 per tensor
// (x ~ scale * (q - zero_point)) unless the Session agreed that its producer writes u8.
//
// No oneDNN type appears here.
#pragma once

#include "frugal/kernels/negotiation.h"

namespace frugal::kernels::cpu {

using kernels::LayoutNegotiable;
using kernels::OpaqueLayout;
using kernels::QuantizedLayout;
using kernels::QuantNegotiable;
using kernels::QuantParams;

}  // namespace frugal::kernels::cpu
