// Which Concat nodes the own copy runs (concat.h), its plan from oneDNN's descriptors, and
// the OnednnKernel that wraps it: the same boundary conversions and layout negotiation as
// oneDNN's concat primitive, the primitive replaced by a function step.
#include <cstdlib>
#include <cstring>
#include <numeric>
#include <string>

#include "frugal/kernels/cpu/concat.h"
#include "frugal/kernels/cpu/threads.h"

namespace frugal::kernels::cpu {
namespace {

using dt = dnnl::memory::data_type;

bool switched_off() {
  const char* v = std::getenv("FRUGAL_NO_OWN_CONCAT");
  return v && std::string(v) == "1";
}

// A float32 layout without channel blocks, padding or offset.
bool dense_strided(const dnnl::memory::desc& md) {
  const dnnl_memory_desc_t& d = md.data;
  if (md.data_type() != dt::f32 || d.format_kind != dnnl_blocked ||
      d.format_desc.blocking.inner_nblks != 0 || d.offset0 != 0)
    return false;
  for (int i = 0; i < d.ndims; ++i)
    if (d.padded_dims[i] != d.dims[i]) return false;
  return true;
}

// Dimensions outermost first by `md`'s strides (ties, which only dimensions of size 1 can
// have beside another, in index order).
std::vector<int> order_of(const dnnl::memory::desc& md) {
  const dnnl_memory_desc_t& d = md.data;
  std::vector<int> order(static_cast<size_t>(d.ndims));
  std::iota(order.begin(), order.end(), 0);
  const auto* strides = d.format_desc.blocking.strides;
  std::stable_sort(order.begin(), order.end(),
                   [&](int a, int b) { return strides[a] > strides[b]; });
  return order;
}

// Whether `md` is dense in `order`: each dimension of size > 1 (the others place nothing)
// has the stride of the dimensions inside it.
bool dense_in(const dnnl::memory::desc& md, const std::vector<int>& order) {
  const dnnl_memory_desc_t& d = md.data;
  int64_t step = 1;
  for (size_t k = order.size(); k-- > 0;) {
    const int j = order[k];
    if (d.dims[j] > 1 && d.format_desc.blocking.strides[j] != step) return false;
    step *= d.dims[j];
  }
  return true;
}

// "plain", "nhwc" or "strided", for the plan (a layout that is both, with one channel, is
// plain).
std::string layout_name(const dnnl::memory::desc& md) {
  const auto dims = md.dims();
  if (md == plain_md(Shape(dims.begin(), dims.end()), dt::f32)) return "plain";
  if (dims.size() == 4 && md == dnnl::memory::desc(dims, dt::f32, dnnl::memory::format_tag::nhwc))
    return "nhwc";
  return "strided";
}

// Output bytes in units of cache lines (a thread's share never splits one), shared by up
// to the backend's threads, each taking at least min_floats_per_thread() floats.
void run_plan(const ConcatPlan& p, const std::vector<dnnl::memory>& ins, const dnnl::memory& out) {
  std::vector<const char*> srcs(ins.size());
  for (size_t i = 0; i < ins.size(); ++i)
    srcs[i] = static_cast<const char*>(ins[i].get_data_handle());
  char* dst = static_cast<char*>(out.get_data_handle());
  const int64_t bytes = p.rows * p.dst_row;
  const int64_t by_size = std::max<int64_t>(1, bytes / 4 / min_floats_per_thread());
  const int threads = static_cast<int>(std::min(int64_t{num_threads()}, by_size));
  static const auto copy = concat_isa_available() ? concat_bytes_avx512 : concat_bytes;
  parallel_split(threads, (bytes + 63) / 64, [&](int64_t begin, int64_t end) {
    copy(p, srcs.data(), dst, begin * 64, std::min(end * 64, bytes));
  });
}

}  // namespace

std::optional<ConcatPlan> concat_plan(const std::vector<dnnl::memory::desc>& srcs,
                                      const dnnl::memory::desc& dst, int axis) {
  if (!dense_strided(dst)) return std::nullopt;
  const std::vector<int> order = order_of(dst);
  if (!dense_in(dst, order)) return std::nullopt;
  for (const auto& s : srcs)
    if (!dense_strided(s) || !dense_in(s, order)) return std::nullopt;
  const auto dims = dst.dims();
  const auto at = std::find(order.begin(), order.end(), axis);
  int64_t inner = 4;  // bytes
  for (auto it = at + 1; it != order.end(); ++it) inner *= dims[static_cast<size_t>(*it)];
  ConcatPlan p;
  p.rows = 1;
  for (auto it = order.begin(); it != at; ++it) p.rows *= dims[static_cast<size_t>(*it)];
  p.dst_row = dims[static_cast<size_t>(axis)] * inner;
  int64_t offset = 0;
  for (const auto& s : srcs) {
    p.src_row.push_back(s.dims()[static_cast<size_t>(axis)] * inner);
    p.dst_offset.push_back(offset);
    offset += p.src_row.back();
  }
  if (offset != p.dst_row) return std::nullopt;
  return p;
}

void concat_bytes(const ConcatPlan& p, const char* const* srcs, char* dst, int64_t begin,
                  int64_t end) {
  concat_walk(p, srcs, dst, begin, end, [](char* to, const char* from, int64_t bytes) {
    std::memcpy(to, from, static_cast<size_t>(bytes));
  });
}

std::unique_ptr<kernels::Kernel> make_own_concat(const Build& b, int axis,
                                                 const dnnl::concat::primitive_desc& pd) {
  if (switched_off()) return nullptr;
  const size_t n = b.view.inputs.size();
  std::vector<dnnl::memory::desc> srcs;
  for (size_t i = 0; i < n; ++i) srcs.push_back(pd.src_desc(static_cast<int>(i)));
  auto plan = concat_plan(srcs, pd.dst_desc(), axis);
  if (!plan) return nullptr;
  auto k = std::make_unique<OnednnKernel>(b.context);
  std::vector<dnnl::memory> ins;
  for (size_t i = 0; i < n; ++i)
    ins.push_back(k->input_as(i, plain_md(b.in_shape(i), dt::f32), srcs[i]));
  const dnnl::memory out = k->output_as(0, plain_md(b.out_shape(0), dt::f32), pd.dst_desc());
  k->add_function_step([plan = std::make_shared<ConcatPlan>(std::move(*plan)), ins,
                        out] { run_plan(*plan, ins, out); },
                       "loop:concat:" + layout_name(pd.dst_desc()));
  return k;
}

}  // namespace frugal::kernels::cpu
