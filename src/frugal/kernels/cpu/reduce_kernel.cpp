// ReduceMean on oneDNN's reduction primitive: MNASNet's and other exports' x.mean([2, 3])
// head, and mean pooling over tokens. Axes constant (the attribute, or input 1 from opset
// 18); keepdims either way (the same bytes); the input in its producer's layout when oneDNN
// has a fast kernel for that.
#include <string>
#include <vector>

#include "frugal/kernels/cpu/hinted_pd.h"
#include "frugal/kernels/cpu/reduce_factories.h"

namespace frugal::kernels::cpu {
namespace {

using dt = dnnl::memory::data_type;

// The reduced axes, normalized; declines what it cannot know or does not implement.
std::vector<bool> reduced_axes(const Build& b, size_t rank) {
  std::vector<int64_t> axes;
  if (b.view.opset < 18) {
    axes = b.node().attr_ints("axes");
  } else if (b.has_input(1)) {
    const Tensor* t = b.constant(1);
    if (!t) decline("axes known only at run time not implemented");
    axes = t->to_int64();
  }
  std::vector<bool> reduced(rank, axes.empty());
  if (axes.empty() && b.node().attr_int("noop_with_empty_axes", 0) != 0)
    decline("noop_with_empty_axes not implemented");
  for (int64_t a : axes)
    reduced[static_cast<size_t>(a < 0 ? a + static_cast<int64_t>(rank) : a)] = true;
  return reduced;
}

dnnl::reduction::primitive_desc mean_pd(const Build& b, const dnnl::memory::desc& src,
                                        const dnnl::memory::desc& dst) {
  const dnnl::reduction::desc d(dnnl::algorithm::reduction_mean, src, dst, 0.0f, 0.0f);
  return dnnl::reduction::primitive_desc(d, scratchpad_attr(), b.context->engine());
}

}  // namespace

std::unique_ptr<kernels::Kernel> make_reduce_mean(const Build& b) {
  const Shape& in = b.in_shape(0);
  if (in.empty()) decline("a scalar input");
  const std::vector<bool> reduced = reduced_axes(b, in.size());
  Shape kept = in;  // the output with keepdims: what oneDNN's reduction writes
  for (size_t d = 0; d < in.size(); ++d)
    if (reduced[d]) kept[d] = 1;
  const dnnl::memory::desc md = plain_md(in, dt::f32), out = plain_md(kept, dt::f32);
  const auto pd = in_producer_layout(
      b, 0, md, [&](const dnnl::memory::desc& src) { return mean_pd(b, src, out); });
  auto k = std::make_unique<OnednnKernel>(b.context);
  Args args;
  args[DNNL_ARG_SRC] = k->input_as(0, md, pd.src_desc());
  // Without keepdims the output has fewer axes but the same bytes.
  args[DNNL_ARG_DST] = k->bind_output(0, out);
  k->add_step(pd, dnnl::reduction(pd), std::move(args));
  return k;
}

}  // namespace frugal::kernels::cpu
