// The plumbing shared by the cpu backend's oneDNN kernels: one engine and stream per
// backend, a scratchpad shared by all its kernels, and OnednnKernel, a fixed sequence of
// primitives built once at compile time whose run() only points memory objects at the
// session's tensors and executes (no allocation).
//
// Kernel boundaries are plain row-major tensors (the Session's contract). Each kernel
// states the layout its primitive wants (`wanted` descriptors) separately from the
// boundary's, and OnednnKernel inserts the reorders between them. Between two cpu kernels
// the Session may then drop a pair of such reorders (layout.h: the value stays in the
// producer's native layout).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include <oneapi/dnnl/dnnl.hpp>

#include "frugal/core/tensor.h"
#include "frugal/kernels/backend.h"
#include "frugal/kernels/cpu/layout.h"
#include "frugal/kernels/deferred_build.h"
#include "frugal/kernels/views.h"

namespace frugal::kernels::cpu {

// Why the backend declines a node; thrown while building a kernel, caught by the backend
// and reported as the node's `why_not`.
struct Declined {
  std::string why;
};
[[noreturn]] void decline(std::string why);

// Engine, stream and the scratchpad every kernel of one backend shares (kernels of one
// session run one at a time, so one scratchpad serves them all).
class Context {
 public:
  Context();
  const dnnl::engine& engine() const { return engine_; }
  dnnl::stream& stream() { return stream_; }
  // Grows the scratchpad to at least `bytes`; only while building kernels.
  void reserve_scratchpad(size_t bytes);
  void* scratchpad() { return scratchpad_.raw(); }
  // Graph constants converted to a layout, by the constant's bytes and the conversion
  // (layout keys): the copies of one node in a split plan (runtime/batch_split.h) read one
  // converted buffer. Held by the kernels that use it; an entry expires with the last.
  std::shared_ptr<const dnnl::memory> converted(const void* source, const std::string& key);
  void remember_converted(const void* source, const std::string& key,
                          const std::shared_ptr<const dnnl::memory>& memory);

 private:
  dnnl::engine engine_;
  dnnl::stream stream_;
  Tensor scratchpad_;
  std::map<std::pair<const void*, std::string>, std::weak_ptr<const dnnl::memory>> converted_;
};

// Plain row-major descriptor of `shape` (a scalar is viewed as one element).
dnnl::memory::desc plain_md(const Shape& shape, dnnl::memory::data_type dt);
// Attributes with the user-managed scratchpad every primitive here uses.
dnnl::primitive_attr scratchpad_attr();

// oneDNN primitives OnednnKernel has created in this process (its reorders and the steps
// added without a primitive; probes create none): what a test counts to see that a kernel
// is built once.
size_t onednn_primitives_created();

using Args = std::unordered_map<int, dnnl::memory>;

// A key equal for two descriptors exactly when they place the same bytes the same way.
std::string layout_key(const dnnl::memory::desc& md);

// Where each element of `from` lies in bytes minus where `to` places it, when that is the
// same for every element (a copy from one to the other then moves every byte onto its own
// place, shifted by this): dimensions of one element or one block may have any stride.
// nullopt when the two place elements differently, or are not plain strided or blocked.
std::optional<int64_t> byte_shift(const dnnl::memory::desc& from, const dnnl::memory::desc& to);

class OnednnKernel final : public kernels::Kernel,
                           public LayoutNegotiable,
                           public kernels::OutputOverInput,
                           public kernels::OutputAsView,
                           public kernels::DeferredBuild {
 public:
  // kProbe: the kernel is only described (primitive descriptors, the layouts it reads and
  // writes, its conversions), to answer the Session's negotiation: no primitive is created
  // (oneDNN generates its code then), no buffer allocated, no constant converted, and it
  // cannot run. The kernel that runs is built once the negotiation has settled.
  enum class Mode { kBuild, kProbe };
  explicit OnednnKernel(std::shared_ptr<Context> context, Mode mode = Mode::kBuild);

  // Memory bound at run time to the node's input/output tensor `index`, described at the
  // boundary by `boundary` (plain row-major for now).
  dnnl::memory bind_input(size_t index, const dnnl::memory::desc& boundary);
  dnnl::memory bind_output(size_t index, const dnnl::memory::desc& boundary);
  // The input as the primitive wants it: the bound memory itself, or a buffer that a
  // reorder step (added now, so it runs before later steps) fills from it.
  dnnl::memory input_as(size_t index, const dnnl::memory::desc& boundary,
                        const dnnl::memory::desc& wanted);
  // Where the primitive writes output `index`: the bound memory itself, or a buffer that a
  // reorder step run after all other steps copies to the boundary.
  dnnl::memory output_as(size_t index, const dnnl::memory::desc& boundary,
                         const dnnl::memory::desc& produced);
  // A compile-time constant (weights) in the wanted layout, reordered once, now.
  dnnl::memory constant_as(const Tensor& value, const dnnl::memory::desc& boundary,
                           const dnnl::memory::desc& wanted);
  // The same for a constant of the graph (it lives as long as the plan): converted once per
  // backend for every kernel that reads it in the same layout (Context::converted).
  dnnl::memory graph_constant_as(const Tensor& value, const dnnl::memory::desc& boundary,
                                 const dnnl::memory::desc& wanted);
  // A step copying `from` into `to` (same dims, any layouts), run in order with the others;
  // skipped in a run where both are the same buffer in the same layout. `main`: it names
  // the implementation this kernel reports.
  void add_copy(const dnnl::memory& from, const dnnl::memory& to, bool main = false);
  // Input `index` is read only by a copy into output 0 (add_copy) before anything writes it.
  void allow_output_over_input(size_t index) { output_over_input_ = index; }
  std::optional<size_t> output_over_input() const override { return output_over_input_; }
  // Another descriptor (a sub-memory, say) over `base`'s buffer, from `bytes` into it,
  // following it wherever run() or an adopted layout points `base`.
  dnnl::memory view_of(const dnnl::memory& base, const dnnl::memory::desc& md, size_t bytes = 0);
  // A buffer owned by the kernel.
  dnnl::memory buffer(const dnnl::memory::desc& md);

  // Appends a primitive with its arguments; binds its scratchpad. `main` names the
  // implementation this kernel reports.
  void add_step(const dnnl::primitive_desc_base& pd, dnnl::primitive prim, Args args,
                bool main = true);
  // The same, creating the primitive of `pd` (none in a probe).
  void add_step(const dnnl::primitive_desc_base& pd, Args args, bool main = true);
  // Appends a step that is frugal's own loop rather than a primitive (it reads and writes
  // the memory objects it captured: they follow run() and adopted layouts); `impl` names
  // the implementation this kernel reports.
  void add_function_step(std::function<void()> fn, const std::string& impl);

  void run(ops::KernelContext& ctx) override;
  std::string impl() const override { return impl_; }
  // Appends " [note]" to impl(): a choice made on the way, for `info --plan` (STYLE.md:
  // explain choices), e.g. why `--sparse auto` kept this pruned layer dense.
  void add_note(const std::string& note) { impl_ += " [" + note + "]"; }

  // Output `index` as the primitive writes it, when that is not the plain boundary (the
  // backend hints it to the kernels that read the value); null otherwise.
  const dnnl::memory::desc* native_output_desc(size_t index) const;
  std::optional<OpaqueLayout> native_output(size_t index) const override;
  std::optional<OpaqueLayout> native_input(size_t index) const override;
  void adopt_native_output(size_t index) override;
  void adopt_native_input(size_t index) override;

  // Output `index` as the bytes of an input: the only enabled step writing it is a reorder
  // that moves bytes only (no scales, no post-ops) straight from an input's binding, and
  // every byte lands where it was (byte_shift); every other enabled step moves bytes too.
  std::optional<kernels::InputBytes> output_view(size_t index) const override;
  // After the negotiation: an output left plain whose native buffer is only a copy of an
  // input in that same layout (a Transpose offering its input's memory order, in case the
  // reader keeps it) is converted to plain straight from that input; the copy goes.
  void finish_build() override;

 private:
  struct Binding {
    size_t index;
    dnnl::memory mem;
  };
  struct Step {
    dnnl::primitive prim;
    Args args;
    bool enabled = true;
    std::function<void()> fn;  // runs instead of prim when set
    bool copy = false;         // add_copy's: a no-op when source and destination coincide
    bool moves_only = false;   // a reorder without scales or post-ops: it only moves bytes
  };
  // A reorder between a boundary binding and the primitive's own layout.
  struct Conversion {
    bool output;
    size_t index;    // the node's input/output index
    size_t binding;  // in inputs_/outputs_
    size_t step;     // in steps_ (inputs) or tail_ (outputs)
    dnnl::memory native;
    dnnl::memory::desc md;  // native's
  };
  const Conversion* conversion(bool output, size_t index) const;
  // The memory whose buffer `m` is (through views_), and the byte offset of `m` in it.
  std::pair<dnnl::memory, size_t> underlying(const dnnl::memory& m) const;
  void add_reorder(const dnnl::memory& from, const dnnl::memory& to, std::vector<Step>& into);

  std::shared_ptr<Context> context_;
  bool probe_ = false;
  std::vector<Binding> inputs_, outputs_;
  std::vector<Conversion> conversions_;
  std::vector<Step> steps_, tail_;  // tail_: output reorders, after every step
  std::vector<dnnl::memory> scratchpads_;
  struct View {
    dnnl::memory view, base;
    size_t bytes;
  };
  std::vector<View> views_;
  std::vector<Tensor> kept_;                                           // constants used in place
  std::vector<std::shared_ptr<const dnnl::memory>> shared_constants_;  // graph_constant_as
  std::string impl_ = "onednn";
  std::optional<size_t> output_over_input_;
};

}  // namespace frugal::kernels::cpu
