#include "frugal/kernels/cpu/onednn_kernel.h"

#include <algorithm>
#include <atomic>
#include <utility>

#include "frugal/core/host_memory.h"

namespace frugal::kernels::cpu {

void decline(std::string why) {
  throw Declined{std::move(why)};
}

Context::Context() : engine_(dnnl::engine::kind::cpu, 0), stream_(engine_) {}

std::shared_ptr<const dnnl::memory> Context::converted(const void* source, const std::string& key) {
  const auto it = converted_.find({source, key});
  return it == converted_.end() ? nullptr : it->second.lock();
}

void Context::remember_converted(const void* source, const std::string& key,
                                 const std::shared_ptr<const dnnl::memory>& memory) {
  converted_[{source, key}] = memory;
}

void Context::reserve_scratchpad(size_t bytes) {
  if (bytes > scratchpad_.nbytes()) scratchpad_ = Tensor(DType::kU8, {static_cast<int64_t>(bytes)});
}

dnnl::memory::desc plain_md(const Shape& shape, dnnl::memory::data_type dt) {
  dnnl::memory::dims dims = shape.empty() ? dnnl::memory::dims{1} : shape;
  dnnl::memory::dims strides(dims.size(), 1);
  for (size_t d = dims.size(); d-- > 1;) strides[d - 1] = strides[d] * dims[d];
  return dnnl::memory::desc(dims, dt, strides);
}

std::string layout_key(const dnnl::memory::desc& md) {
  const dnnl_memory_desc_t& d = md.data;
  std::string k = std::to_string(static_cast<int>(d.data_type)) + "|" +
                  std::to_string(static_cast<int>(d.format_kind)) + "|" +
                  std::to_string(d.offset0) + "|";
  for (int i = 0; i < d.ndims; ++i)
    k += std::to_string(d.dims[i]) + "/" + std::to_string(d.padded_dims[i]) + "/" +
         std::to_string(d.padded_offsets[i]) + ",";
  if (d.format_kind == dnnl_blocked) {
    const dnnl_blocking_desc_t& b = d.format_desc.blocking;
    k += "|s";
    for (int i = 0; i < d.ndims; ++i) k += std::to_string(b.strides[i]) + ",";
    k += "|b";
    for (int i = 0; i < b.inner_nblks; ++i)
      k += std::to_string(b.inner_blks[i]) + "@" + std::to_string(b.inner_idxs[i]) + ",";
  }
  return k;
}

std::optional<int64_t> byte_shift(const dnnl::memory::desc& from, const dnnl::memory::desc& to) {
  const dnnl_memory_desc_t &a = from.data, &b = to.data;
  if (a.data_type != b.data_type || a.ndims != b.ndims || a.format_kind != dnnl_blocked ||
      b.format_kind != dnnl_blocked || a.extra.flags != 0 || b.extra.flags != 0)
    return std::nullopt;
  const dnnl_blocking_desc_t &ba = a.format_desc.blocking, &bb = b.format_desc.blocking;
  if (ba.inner_nblks != bb.inner_nblks) return std::nullopt;
  for (int i = 0; i < ba.inner_nblks; ++i)
    if (ba.inner_blks[i] != bb.inner_blks[i] || ba.inner_idxs[i] != bb.inner_idxs[i])
      return std::nullopt;
  for (int d = 0; d < a.ndims; ++d) {
    if (a.dims[d] != b.dims[d] || a.padded_dims[d] != b.padded_dims[d] ||
        a.padded_offsets[d] != b.padded_offsets[d])
      return std::nullopt;
    dnnl_dim_t blocks = a.padded_dims[d];  // positions of the outer index along d
    for (int i = 0; i < ba.inner_nblks; ++i)
      if (ba.inner_idxs[i] == d) blocks /= ba.inner_blks[i];
    if (blocks > 1 && ba.strides[d] != bb.strides[d]) return std::nullopt;
  }
  return (a.offset0 - b.offset0) *
         static_cast<int64_t>(dnnl::memory::data_type_size(from.data_type()));
}

dnnl::primitive_attr scratchpad_attr() {
  dnnl::primitive_attr attr;
  attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
  return attr;
}

namespace {
std::atomic<size_t> primitives_created{0};

dnnl::primitive created(const dnnl::primitive_desc_base& pd) {
  ++primitives_created;
  return dnnl::primitive(pd.get());
}

// A reorder that only moves bytes: no scaling, no post-ops (a quantizing reorder computes).
bool moves_only(const dnnl::primitive_desc_base& pd) {
  if (pd.get_kind() != dnnl::primitive::kind::reorder) return false;
  const dnnl::primitive_attr attr = pd.get_primitive_attr();
  int mask = 0;
  std::vector<float> scales;
  attr.get_output_scales(mask, scales);
  for (float sc : scales)
    if (sc != 1.0f) return false;
  return attr.get_post_ops().len() == 0;
}
}  // namespace

size_t onednn_primitives_created() {
  return primitives_created;
}

OnednnKernel::OnednnKernel(std::shared_ptr<Context> context, Mode mode)
    : context_(std::move(context)), probe_(mode == Mode::kProbe) {}

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

dnnl::memory OnednnKernel::view_of(const dnnl::memory& base, const dnnl::memory::desc& md,
                                   size_t bytes) {
  dnnl::memory v(md, context_->engine(), DNNL_MEMORY_NONE);
  views_.push_back({v, base, bytes});
  return v;
}

dnnl::memory OnednnKernel::buffer(const dnnl::memory::desc& md) {
  if (probe_) return dnnl::memory(md, context_->engine(), DNNL_MEMORY_NONE);
  dnnl::memory m(md, context_->engine());
  // Packed weights and intermediate buffers are read every run: huge pages where they are
  // large (oneDNN allocates them untouched; the reorder that fills them comes after).
  advise_huge_pages(m.get_data_handle(), md.get_size());
  return m;
}

void OnednnKernel::add_reorder(const dnnl::memory& from, const dnnl::memory& to,
                               std::vector<Step>& into) {
  dnnl::reorder::primitive_desc pd(context_->engine(), from.get_desc(), context_->engine(),
                                   to.get_desc(), scratchpad_attr());
  Args args{{DNNL_ARG_FROM, from}, {DNNL_ARG_TO, to}};
  if (probe_) {
    into.push_back({dnnl::primitive(), std::move(args)});
    return;
  }
  const dnnl::memory::desc scratch = pd.scratchpad_desc();
  if (scratch.get_size() > 0) {
    context_->reserve_scratchpad(scratch.get_size());
    dnnl::memory s(scratch, context_->engine(), DNNL_MEMORY_NONE);
    scratchpads_.push_back(s);
    args[DNNL_ARG_SCRATCHPAD] = s;
  }
  into.push_back({created(pd), std::move(args)});
  into.back().moves_only = moves_only(pd);
}

void OnednnKernel::add_copy(const dnnl::memory& from, const dnnl::memory& to, bool main) {
  add_reorder(from, to, steps_);
  steps_.back().copy = true;
  if (main)
    impl_ = std::string("onednn:") +
            dnnl::reorder::primitive_desc(context_->engine(), from.get_desc(), context_->engine(),
                                          to.get_desc(), scratchpad_attr())
                .impl_info_str();
}

namespace {

// A copy step whose source is its destination (the Session placed the output over the
// input, OutputOverInput): nothing to move.
bool copies_onto_itself(const Args& args) {
  const dnnl::memory& from = args.at(DNNL_ARG_FROM);
  const dnnl::memory& to = args.at(DNNL_ARG_TO);
  return from.get_data_handle() == to.get_data_handle() && from.get_desc() == to.get_desc();
}

}  // namespace

dnnl::memory OnednnKernel::input_as(size_t index, const dnnl::memory::desc& boundary,
                                    const dnnl::memory::desc& wanted) {
  dnnl::memory bound = bind_input(index, boundary);
  if (wanted == boundary) return bound;
  dnnl::memory converted = buffer(wanted);
  add_reorder(bound, converted, steps_);
  conversions_.push_back({false, index, inputs_.size() - 1, steps_.size() - 1, converted, wanted});
  return converted;
}

dnnl::memory OnednnKernel::output_as(size_t index, const dnnl::memory::desc& boundary,
                                     const dnnl::memory::desc& produced) {
  dnnl::memory bound = bind_output(index, boundary);
  if (produced == boundary) return bound;
  dnnl::memory internal = buffer(produced);
  add_reorder(internal, bound, tail_);
  conversions_.push_back({true, index, outputs_.size() - 1, tail_.size() - 1, internal, produced});
  return internal;
}

dnnl::memory OnednnKernel::constant_as(const Tensor& value, const dnnl::memory::desc& boundary,
                                       const dnnl::memory::desc& wanted) {
  FRUGAL_CHECK(value.nbytes() == boundary.get_size(), "constant does not match its descriptor");
  if (probe_) return buffer(wanted);
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

dnnl::memory OnednnKernel::graph_constant_as(const Tensor& value,
                                             const dnnl::memory::desc& boundary,
                                             const dnnl::memory::desc& wanted) {
  if (probe_ || wanted == boundary) return constant_as(value, boundary, wanted);
  const std::string key = layout_key(boundary) + " -> " + layout_key(wanted);
  std::shared_ptr<const dnnl::memory> m = context_->converted(value.raw(), key);
  if (!m) {
    m = std::make_shared<const dnnl::memory>(constant_as(value, boundary, wanted));
    context_->remember_converted(value.raw(), key, m);
  }
  shared_constants_.push_back(m);
  return *m;
}

void OnednnKernel::add_step(const dnnl::primitive_desc_base& pd, Args args, bool main) {
  add_step(pd, probe_ ? dnnl::primitive() : created(pd), std::move(args), main);
}

void OnednnKernel::add_step(const dnnl::primitive_desc_base& pd, dnnl::primitive prim, Args args,
                            bool main) {
  const dnnl::memory::desc scratch = pd.scratchpad_desc();
  if (scratch.get_size() > 0 && !probe_) {
    context_->reserve_scratchpad(scratch.get_size());
    dnnl::memory s(scratch, context_->engine(), DNNL_MEMORY_NONE);
    scratchpads_.push_back(s);
    args[DNNL_ARG_SCRATCHPAD] = s;
  }
  steps_.push_back({std::move(prim), std::move(args)});
  steps_.back().moves_only = moves_only(pd);
  if (main) impl_ = std::string("onednn:") + pd.impl_info_str();
}

void OnednnKernel::add_function_step(std::function<void()> fn, const std::string& impl) {
  Step s;
  s.fn = std::move(fn);
  steps_.push_back(std::move(s));
  impl_ = impl;
}

void OnednnKernel::run(ops::KernelContext& ctx) {
  FRUGAL_CHECK(!probe_, "a probe kernel cannot run");
  for (auto& b : inputs_) b.mem.set_data_handle(const_cast<void*>(ctx.input(b.index).raw()));
  for (auto& b : outputs_) b.mem.set_data_handle(ctx.output(b.index).raw());
  for (auto& v : views_)
    v.view.set_data_handle(static_cast<char*>(v.base.get_data_handle()) + v.bytes);
  // The scratchpad may have grown since a kernel was built: point at its final place.
  for (auto& s : scratchpads_) s.set_data_handle(context_->scratchpad());
  dnnl::stream& stream = context_->stream();
  // oneDNN's cpu stream runs a primitive before execute() returns, so a function step
  // sees the steps before it done.
  for (auto& s : steps_)
    if (!s.enabled || (s.copy && copies_onto_itself(s.args)))
      continue;
    else if (s.fn)
      s.fn();
    else
      s.prim.execute(stream, s.args);
  for (auto& s : tail_)
    if (s.enabled) s.prim.execute(stream, s.args);
  stream.wait();
}

const OnednnKernel::Conversion* OnednnKernel::conversion(bool output, size_t index) const {
  // Only a value bound once, through one conversion, can change its layout as a whole.
  size_t bound = 0;
  for (const auto& b : output ? outputs_ : inputs_) bound += b.index == index;
  if (bound != 1) return nullptr;
  for (const auto& c : conversions_)
    if (c.output == output && c.index == index) return &c;
  return nullptr;
}

const dnnl::memory::desc* OnednnKernel::native_output_desc(size_t index) const {
  const Conversion* c = conversion(true, index);
  return c ? &c->md : nullptr;
}

std::optional<OpaqueLayout> OnednnKernel::native_output(size_t index) const {
  const Conversion* c = conversion(true, index);
  if (!c) return std::nullopt;
  return OpaqueLayout{layout_key(c->md), c->md.get_size()};
}

std::optional<OpaqueLayout> OnednnKernel::native_input(size_t index) const {
  const Conversion* c = conversion(false, index);
  if (!c) return std::nullopt;
  return OpaqueLayout{layout_key(c->md), c->md.get_size()};
}

void OnednnKernel::adopt_native_output(size_t index) {
  const Conversion* c = conversion(true, index);
  FRUGAL_CHECK(c != nullptr, "no native layout to adopt for this output");
  tail_[c->step].enabled = false;
  outputs_[c->binding].mem = c->native;
}

void OnednnKernel::adopt_native_input(size_t index) {
  const Conversion* c = conversion(false, index);
  FRUGAL_CHECK(c != nullptr, "no native layout to adopt for this input");
  steps_[c->step].enabled = false;
  inputs_[c->binding].mem = c->native;
}

}  // namespace frugal::kernels::cpu

namespace frugal::kernels::cpu {

std::pair<dnnl::memory, size_t> OnednnKernel::underlying(const dnnl::memory& m) const {
  std::pair<dnnl::memory, size_t> at{m, 0};
  for (bool found = true; found;) {
    found = false;
    for (const auto& v : views_)
      if (v.view.get() == at.first.get()) {
        at = {v.base, at.second + v.bytes};
        found = true;
        break;
      }
  }
  return at;
}

std::optional<kernels::InputBytes> OnednnKernel::output_view(size_t index) const {
  const dnnl::memory* out = nullptr;
  for (const auto& b : outputs_)
    if (b.index == index) {
      if (out) return std::nullopt;
      out = &b.mem;
    }
  if (!out) return std::nullopt;
  const Step* writer = nullptr;
  for (const auto* list : {&steps_, &tail_})
    for (const Step& s : *list) {
      if (!s.enabled) continue;
      if (!s.moves_only) return std::nullopt;
      const auto [to, at] = underlying(s.args.at(DNNL_ARG_TO));
      if (to.get() != out->get()) continue;
      if (writer || at != 0 ||
          s.args.at(DNNL_ARG_TO).get_desc().get_size() != out->get_desc().get_size())
        return std::nullopt;
      writer = &s;
    }
  if (!writer) return std::nullopt;
  const dnnl::memory& src = writer->args.at(DNNL_ARG_FROM);
  const auto [from, from_at] = underlying(src);
  const auto shift = byte_shift(src.get_desc(), writer->args.at(DNNL_ARG_TO).get_desc());
  if (!shift || static_cast<int64_t>(from_at) + *shift < 0) return std::nullopt;
  for (const auto& b : inputs_)
    if (b.mem.get() == from.get())
      return kernels::InputBytes{b.index,
                                 static_cast<size_t>(static_cast<int64_t>(from_at) + *shift)};
  return std::nullopt;
}

void OnednnKernel::finish_build() {
  for (const auto& c : conversions_) {
    if (!c.output || !tail_[c.step].enabled) continue;
    // The steps touching the native buffer: only a whole copy into it qualifies (a
    // convolution accumulating onto a copied addend, say, does not).
    std::vector<Step*> touching;
    for (auto& s : steps_)
      for (const auto& [arg, m] : s.args)
        if (s.enabled && arg != DNNL_ARG_SCRATCHPAD &&
            underlying(m).first.get() == c.native.get()) {
          touching.push_back(&s);
          break;
        }
    if (touching.size() != 1) continue;
    // ... from an input (no step writes it, so the conversion at the end reads the same).
    Step& s = *touching[0];
    if (!s.copy) continue;
    const dnnl::memory from = underlying(s.args.at(DNNL_ARG_FROM)).first;
    const bool from_input = std::any_of(inputs_.begin(), inputs_.end(), [&](const Binding& b) {
      return b.mem.get() == from.get();
    });
    if (from_input && s.args.at(DNNL_ARG_TO).get() == c.native.get() &&
        s.args.at(DNNL_ARG_FROM).get_desc() == c.md) {
      tail_[c.step].args[DNNL_ARG_FROM] = s.args.at(DNNL_ARG_FROM);
      s.enabled = false;
    }
  }
}

}  // namespace frugal::kernels::cpu
