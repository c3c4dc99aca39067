// cpu:int8's choice among oneDNN's int8 convolution implementations (int8_impl.h): below
// kAmxJitMinMacs the older jit AMX kernels are skipped for the next implementation. The
// results of either choice are checked against ref by int8_kernels_test's shape matrix
// (small cases run the skipped-to kernel, its large case the jit AMX one where oneDNN
// offers it).
#include <gtest/gtest.h>

#include "frugal/kernels/cpu/int8_impl.h"

using namespace frugal::kernels::cpu;

namespace {

using conv = dnnl::convolution_forward;
using dt = dnnl::memory::data_type;
using tag = dnnl::memory::format_tag;

// A 1x1 convolution u8 x s8 -> u8 with a 1 x c x hw x hw input, as mobilenet_fmnist's.
conv::desc pointwise(int64_t c, int64_t hw) {
  const dnnl::memory::desc src({1, c, hw, hw}, dt::u8, tag::any);
  const dnnl::memory::desc wei({c, c, 1, 1}, dt::s8, tag::any);
  const dnnl::memory::desc dst({1, c, hw, hw}, dt::u8, tag::any);
  return conv::desc(dnnl::prop_kind::forward_inference, dnnl::algorithm::convolution_direct, src,
                    wei, dst, {1, 1}, {0, 0}, {0, 0});
}

}  // namespace

TEST(Int8ConvImpl, MacsCountOnePerWeightOfTheOutputChannel) {
  EXPECT_EQ(conv_macs({1, 64, 7, 7}, {64, 32, 1, 1}), 7 * 7 * 64 * 32);
  EXPECT_EQ(conv_macs({2, 8, 5, 5}, {8, 1, 3, 3}), 2 * 5 * 5 * 8 * 9);  // depthwise
  EXPECT_EQ(conv_macs({1, 4, 10}, {4, 2, 3}), 10 * 4 * 2 * 3);          // 1-D
}

TEST(Int8ConvImpl, SmallConvolutionsSkipTheOlderJitAmxKernels) {
  const dnnl::engine engine(dnnl::engine::kind::cpu, 0);
  // A destination zero point (a requantized output that can be negative), which oneDNN
  // 2.6's brgemm AMX 1x1 kernel declines.
  dnnl::primitive_attr attr;
  attr.set_zero_points(DNNL_ARG_DST, 0, {128});
  const conv::desc small = pointwise(64, 7);
  const std::string first = conv::primitive_desc(small, attr, engine).impl_info_str();
  if (!is_jit_amx(first))
    GTEST_SKIP() << "oneDNN's first int8 implementation here is " << first
                 << ", not a jit AMX one (no AMX on this CPU?): nothing to skip";
  const int64_t macs = conv_macs({1, 64, 7, 7}, {64, 64, 1, 1});
  ASSERT_LT(macs, kAmxJitMinMacs);
  const std::string chosen = int8_conv_pd(small, attr, engine, macs).impl_info_str();
  EXPECT_FALSE(is_jit_amx(chosen)) << chosen;
  // At or above the threshold oneDNN's first choice stands.
  EXPECT_EQ(int8_conv_pd(small, attr, engine, kAmxJitMinMacs).impl_info_str(), first);
}

TEST(Int8ConvImpl, NamesOfTheOlderJitAmxKernels) {
  EXPECT_TRUE(is_jit_amx("jit_1x1:avx512_core_amx_int8"));
  EXPECT_TRUE(is_jit_amx("jit:avx512_core_amx_int8"));
  EXPECT_FALSE(is_jit_amx("brgconv_1x1:avx512_core_amx_int8"));
  EXPECT_FALSE(is_jit_amx("jit_int8:avx512_core_vnni"));
  EXPECT_FALSE(is_jit_amx("brdgmm_dw:avx512_core_vnni"));
}
