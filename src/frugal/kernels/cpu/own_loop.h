// frugal's own float32 loop in the place of a oneDNN primitive: the kernel reads input 0
// and writes output 0 in the layouts of the primitive it replaces (`src`, `dst`), so it
// negotiates layouts as that primitive would (the depthwise and max-pool loops).
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "frugal/kernels/cpu/factories.h"

namespace frugal::kernels::cpu {

inline std::unique_ptr<OnednnKernel> own_loop_kernel(const Build& b, const dnnl::memory::desc& src,
                                                     const dnnl::memory::desc& dst,
                                                     std::function<void(const float*, float*)> loop,
                                                     const std::string& impl) {
  auto k = std::make_unique<OnednnKernel>(b.context);
  const auto f32 = dnnl::memory::data_type::f32;
  const dnnl::memory in = k->input_as(0, plain_md(b.in_shape(0), f32), src);
  const dnnl::memory out = k->output_as(0, plain_md(b.out_shape(0), f32), dst);
  k->add_function_step(
      [loop = std::move(loop), in, out] {
        loop(static_cast<const float*>(in.get_data_handle()),
             static_cast<float*>(out.get_data_handle()));
      },
      impl);
  return k;
}

}  // namespace frugal::kernels::cpu
