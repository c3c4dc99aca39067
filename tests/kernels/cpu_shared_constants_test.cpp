// Graph constants converted once per backend (OnednnKernel::graph_constant_as): the copies
// of a node in a split plan (runtime/batch_split.h) read one converted buffer.
#include <gtest/gtest.h>

#include <cstring>
#include <memory>

#include "frugal/kernels/cpu/onednn_kernel.h"

using namespace frugal;
using namespace frugal::kernels::cpu;
using tag = dnnl::memory::format_tag;

TEST(CpuSharedConstants, KernelsOfOneBackendShareAConvertedGraphConstant) {
  auto context = std::make_shared<Context>();
  const Shape dims{32, 16, 3, 3};
  Tensor w(DType::kF32, dims);
  auto v = w.span<float>();
  for (size_t i = 0; i < v.size(); ++i) v[i] = static_cast<float>(i % 97) - 48.0f;
  const auto plain = plain_md(dims, dnnl::memory::data_type::f32);
  const dnnl::memory::desc blocked({32, 16, 3, 3}, dnnl::memory::data_type::f32, tag::OIhw16i16o);
  const std::string key = layout_key(plain) + " -> " + layout_key(blocked);
  auto a = std::make_unique<OnednnKernel>(context);
  auto b = std::make_unique<OnednnKernel>(context);
  const dnnl::memory ma = a->graph_constant_as(w, plain, blocked);
  const dnnl::memory mb = b->graph_constant_as(w, plain, blocked);
  EXPECT_EQ(ma.get_data_handle(), mb.get_data_handle()) << "converted twice";
  // The shared buffer holds what a kernel's own conversion holds.
  const dnnl::memory own = b->constant_as(w, plain, blocked);
  ASSERT_NE(own.get_data_handle(), ma.get_data_handle());
  EXPECT_EQ(std::memcmp(own.get_data_handle(), ma.get_data_handle(), blocked.get_size()), 0);
  // Another layout, or another constant of the same bytes: a buffer of its own.
  const dnnl::memory::desc other({32, 16, 3, 3}, dnnl::memory::data_type::f32, tag::OIhw16o16i);
  EXPECT_NE(a->graph_constant_as(w, plain, other).get_data_handle(), ma.get_data_handle());
  const Tensor copy = w.clone();
  EXPECT_NE(a->graph_constant_as(copy, plain, blocked).get_data_handle(), ma.get_data_handle());
  // Held by the kernels that use it: gone with the last.
  EXPECT_NE(context->converted(w.raw(), key), nullptr);
  a.reset();
  EXPECT_NE(context->converted(w.raw(), key), nullptr);
  b.reset();
  EXPECT_EQ(context->converted(w.raw(), key), nullptr);
}
