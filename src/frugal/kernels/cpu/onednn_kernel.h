// The plumbing shared by the cpu backend's oneDNN kernels: one engine and stream per
// backend, a scratchpad shared by all its kernels, and OnednnKernel, a fixed sequence of
// primitives built once at compile time whose run() only points memory objects at the
// session's tensors and executes (no allocation).
//
// Kernel boundaries are plain row-major tensors (the Session's contract). Each kernel
// states the layout its primitive wants (`wanted` descriptors) separately from the
// boundary's, and OnednnKernel inserts the reorders between them, so that propagating
// oneDNN's blocked layouts between consecutive kernels later changes only which
// descriptors are passed here.
#pragma once

#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include <oneapi/dnnl/dnnl.hpp>

#include "frugal/core/tensor.h"
#include "frugal/kernels/backend.h"

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

 private:
  dnnl::engine engine_;
  dnnl::stream stream_;
  Tensor scratchpad_;
};

// Plain row-major descriptor of `shape` (a scalar is viewed as one element).
dnnl::memory::desc plain_md(const Shape& shape, dnnl::memory::data_type dt);
// Attributes with the user-managed scratchpad every primitive here uses.
dnnl::primitive_attr scratchpad_attr();

using Args = std::unordered_map<int, dnnl::memory>;

class OnednnKernel final : public kernels::Kernel {
 public:
  explicit OnednnKernel(std::shared_ptr<Context> context);

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
  // A buffer owned by the kernel.
  dnnl::memory buffer(const dnnl::memory::desc& md);

  // Appends a primitive with its arguments; binds its scratchpad. `main` names the
  // implementation this kernel reports.
  void add_step(const dnnl::primitive_desc_base& pd, dnnl::primitive prim, Args args,
                bool main = true);

  void run(ops::KernelContext& ctx) override;
  std::string impl() const override { return impl_; }

 private:
  struct Binding {
    size_t index;
    dnnl::memory mem;
  };
  struct Step {
    dnnl::primitive prim;
    Args args;
  };
  void add_reorder(const dnnl::memory& from, const dnnl::memory& to, std::vector<Step>& into);

  std::shared_ptr<Context> context_;
  std::vector<Binding> inputs_, outputs_;
  std::vector<Step> steps_, tail_;  // tail_: output reorders, after every step
  std::vector<dnnl::memory> scratchpads_;
  std::vector<Tensor> kept_;  // constants used in place
  std::string impl_ = "onednn";
};

}  // namespace frugal::kernels::cpu
