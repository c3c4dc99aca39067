// Which oneDNN convolution implementation and activation layout a Conv node runs, chosen by
// two switches kept for measurement, both off by default (bench/RESULTS.md, "Convolution
// implementation and layout by measurement, session 10"): nChw16c lost 5-12 % against
// oneDNN 2.6's first choice (brgconv on nhwc) on three of four CNNs, and the timed choice
// gained at most 3-4 % while costing seconds of session init and picking different kernels
// (different last bits) from one process to the next on a loaded machine.
//
// FRUGAL_CONV_LAYOUT=blocked: activations in nChw16c (the blocked layout of oneDNN's direct
// jit kernels and of NCHWc engines) instead of the layout oneDNN prefers.
// FRUGAL_CONV_IMPL=timed: each convolution times oneDNN's implementations that read and
// write the same layouts as its first choice (so the layout negotiation around the kernel
// is unchanged) and keeps the fastest; `info --plan` names it with every candidate's time.
// FRUGAL_CONV_IMPL=NAME (jit_1x1, jit:, brgconv...): the first such candidate whose name
// starts with NAME, where there is one (to compare one implementation against another).
#pragma once

#include <functional>
#include <string>

#include "frugal/kernels/cpu/factories.h"

namespace frugal::kernels::cpu {

// Activations of a 2-D convolution in nChw16c (FRUGAL_CONV_LAYOUT=blocked); the input of a
// layer with fewer than 16 channels (an RGB stem) stays plain nchw, the first-layer case
// of oneDNN's direct kernels.
bool conv_layout_blocked();

// A convolution's descriptor for the given activation descriptors (the rest fixed).
using ConvDescOf = std::function<dnnl::convolution_forward::desc(const dnnl::memory::desc& src,
                                                                 const dnnl::memory::desc& dst)>;

// oneDNN's first choice for `desc_of(src, dst)`; under FRUGAL_CONV_IMPL=timed, the fastest
// implementation of the same convolution on that choice's activation layouts (oneDNN lists
// the others for them only when they are fixed), unless it has one candidate or a binary
// post-op; `note` then lists the candidates' times (FRUGAL_CONV_IMPL=NAME: the named one). Timed
// once per descriptor, post-op kinds and thread count in a process: repeated blocks and the
// Session's rebuilds reuse it.
dnnl::convolution_forward::primitive_desc fastest_conv_impl(
    const Build& b, const ConvDescOf& desc_of, const dnnl::memory::desc& src,
    const dnnl::memory::desc& dst, const dnnl::primitive_attr& attr, std::string& note);

}  // namespace frugal::kernels::cpu
