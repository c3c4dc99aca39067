// DepthToSpace (DCR and CRD) and SpaceToDepth: super-resolution's pixel shuffle and YOLO's
// focus as one oneDNN reorder, the transpose of the 6-D view that ops/depth_space.h gives
// (the reference kernel's): the input bound as that view, the output as the same axes with
// the strides that make the bytes plain y.
#include "frugal/kernels/cpu/resize_factories.h"
#include "frugal/ops/depth_space.h"
#include "frugal/ops/util.h"

namespace frugal::kernels::cpu {

std::unique_ptr<kernels::Kernel> make_depth_space(const Build& b) {
  const ops::DepthSpaceView v = ops::depth_space_view(b.node(), b.in_shape(0));
  Shape out6(6);
  for (size_t d = 0; d < 6; ++d) out6[d] = v.in6[static_cast<size_t>(v.perm[d])];
  const std::vector<int64_t> out_strides = ops::strides_of(out6);
  dnnl::memory::dims strides(6);
  for (size_t d = 0; d < 6; ++d) strides[static_cast<size_t>(v.perm[d])] = out_strides[d];
  const auto f32 = dnnl::memory::data_type::f32;
  const dnnl::memory::desc from = plain_md(v.in6, f32), to(v.in6, f32, strides);
  const dnnl::engine& eng = b.context->engine();
  const dnnl::reorder::primitive_desc pd(eng, from, eng, to, scratchpad_attr());
  auto k = std::make_unique<OnednnKernel>(b.context);
  Args args;
  args[DNNL_ARG_FROM] = k->bind_input(0, from);  // the same bytes as plain x
  args[DNNL_ARG_TO] = k->bind_output(0, to);     // the same bytes as plain y
  k->add_step(pd, dnnl::reorder(pd), std::move(args));
  return k;
}

}  // namespace frugal::kernels::cpu
