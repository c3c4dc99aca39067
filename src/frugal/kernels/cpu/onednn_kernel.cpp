#include "frugal/kernels/cpu/onednn_kernel.h"

#include <utility>

namespace frugal::kernels::cpu {

void decline(std::string why) {
  throw Declined{std::move(why)};
}

Context::Context() : engine_(dnnl::engine::kind::cpu, 0), stream_(engine_) {}

void Context::reserve_scratchpad(size_t bytes) {
  if (bytes > scratchpad_.nbytes()) scratchpad_ = Tensor(DType::kU8, {static_cast<int64_t>(bytes)});
}

dnnl::memory::desc plain_md(const Shape& shape, dnnl::memory::data_type dt) {
  dnnl::memory::dims dims = shape.empty() ? dnnl::memory::dims{1} : shape;
  dnnl::memory::dims strides(dims.size(), 1);
  for (size_t d = dims.size(); d-- > 1;) strides[d - 1] = strides[d] * dims[d];
  return dnnl::memory::desc(dims, dt, strides);
}

dnnl::primitive_attr scratchpad_attr() {
  dnnl::primitive_attr attr;
  attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
  return attr;
}

OnednnKernel::OnednnKernel(std::shared_ptr<Context> context) : context_(std::move(context)) {}

dnnl::memory OnednnKernel::bind_input(size_t index, const dnnl::memory::desc& boundary) {
  dnnl::memory m(boundary, context_->engine(), DNNL_MEMORY_NONE);
  inputs_.push_back({index, m});
  return m;
}

dnnl::memory OnednnKernel::bind_output(size_t index, const dnnl::memory::desc& boundary) {
  dnnl::memory m(boundary, context_->engine(), DNNL_MEMORY_NONE);
  outputs_.push_back({index, m});
  return m;
}

dnnl::memory OnednnKernel::buffer(const dnnl::memory::desc& md) {
  return dnnl::memory(md, context_->engine());
}

void OnednnKernel::add_reorder(const dnnl::memory& from, const dnnl::memory& to,
                               std::vector<Step>& into) {
  dnnl::reorder::primitive_desc pd(context_->engine(), from.get_desc(), context_->engine(),
                                   to.get_desc(), scratchpad_attr());
  Args args{{DNNL_ARG_FROM, from}, {DNNL_ARG_TO, to}};
  const dnnl::memory::desc scratch = pd.scratchpad_desc();
  if (scratch.get_size() > 0) {
    context_->reserve_scratchpad(scratch.get_size());
    dnnl::memory s(scratch, context_->engine(), DNNL_MEMORY_NONE);
    scratchpads_.push_back(s);
    args[DNNL_ARG_SCRATCHPAD] = s;
  }
  into.push_back({dnnl::reorder(pd), std::move(args)});
}

dnnl::memory OnednnKernel::input_as(size_t index, const dnnl::memory::desc& boundary,
                                    const dnnl::memory::desc& wanted) {
  dnnl::memory bound = bind_input(index, boundary);
  if (wanted == boundary) return bound;
  dnnl::memory converted = buffer(wanted);
  add_reorder(bound, converted, steps_);
  return converted;
}

dnnl::memory OnednnKernel::output_as(size_t index, const dnnl::memory::desc& boundary,
                                     const dnnl::memory::desc& produced) {
  dnnl::memory bound = bind_output(index, boundary);
  if (produced == boundary) return bound;
  dnnl::memory internal = buffer(produced);
  add_reorder(internal, bound, tail_);
  return internal;
}

dnnl::memory OnednnKernel::constant_as(const Tensor& value, const dnnl::memory::desc& boundary,
                                       const dnnl::memory::desc& wanted) {
  FRUGAL_CHECK(value.nbytes() == boundary.get_size(), "constant does not match its descriptor");
  dnnl::memory source(boundary, context_->engine(), const_cast<void*>(value.raw()));
  if (wanted == boundary) {
    kept_.push_back(value);
    return source;
  }
  dnnl::memory converted = buffer(wanted);
  std::vector<Step> once;
  add_reorder(source, converted, once);
  for (auto& s : scratchpads_) s.set_data_handle(context_->scratchpad());
  once[0].prim.execute(context_->stream(), once[0].args);
  context_->stream().wait();
  return converted;
}

void OnednnKernel::add_step(const dnnl::primitive_desc_base& pd, dnnl::primitive prim, Args args,
                            bool main) {
  const dnnl::memory::desc scratch = pd.scratchpad_desc();
  if (scratch.get_size() > 0) {
    context_->reserve_scratchpad(scratch.get_size());
    dnnl::memory s(scratch, context_->engine(), DNNL_MEMORY_NONE);
    scratchpads_.push_back(s);
    args[DNNL_ARG_SCRATCHPAD] = s;
  }
  steps_.push_back({std::move(prim), std::move(args)});
  if (main) impl_ = std::string("onednn:") + pd.impl_info_str();
}

void OnednnKernel::run(ops::KernelContext& ctx) {
  for (auto& b : inputs_) b.mem.set_data_handle(const_cast<void*>(ctx.input(b.index).raw()));
  for (auto& b : outputs_) b.mem.set_data_handle(ctx.output(b.index).raw());
  // The scratchpad may have grown since a kernel was built: point at its final place.
  for (auto& s : scratchpads_) s.set_data_handle(context_->scratchpad());
  dnnl::stream& stream = context_->stream();
  for (auto& s : steps_) s.prim.execute(stream, s.args);
  for (auto& s : tail_) s.prim.execute(stream, s.args);
  stream.wait();
}

}  // namespace frugal::kernels::cpu
