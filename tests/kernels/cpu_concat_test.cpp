// frugal's own Concat on the cpu backend (kernels/cpu/concat.h) against the reference
// kernel, bit for bit: channels-last (the inputs from 1x1 convolutions whose one-hot
// weights copy input channels exactly, so the whole graph is exact on both backends) and
// plain (graph inputs); the channel axis and the others, 2-6 inputs, channel counts 1, 3,
// 17, 32, 100, batch 1/2/3, spatial 1x1 to 28x28, 1 and 2 threads, a NaN-poisoned arena.
// The copy itself is checked against a naive one at every way of cutting it among
// threads.
#include <gtest/gtest.h>

#include <cstdlib>
#include <cstring>
#include <numeric>

#include "frugal/kernels/cpu/concat.h"
#include "kernels/cpu_testing.h"

using namespace frugal;
using namespace frugal::cpu_testing;

namespace {

std::string concat_impl(const runtime::Session& s) {
  for (const auto& a : s.assignments())
    if (a.op_type == "Concat") return a.impl;
  return "";
}

std::string label_of(int64_t n, int64_t h, int64_t w, const std::vector<int64_t>& channels,
                     int64_t axis, int threads) {
  std::string s = "n" + std::to_string(n) + " " + std::to_string(h) + "x" + std::to_string(w) +
                  " axis " + std::to_string(axis) + " threads " + std::to_string(threads) + " c";
  for (int64_t c : channels) s += " " + std::to_string(c);
  return s;
}

// 1x1 weights [c, cin] copying input channel (j * 5 + seed) % cin into output channel j.
Tensor one_hot_weights(int64_t c, int64_t cin, int64_t seed) {
  Tensor t(DType::kF32, {c, cin, 1, 1});
  float* d = t.data<float>();
  std::fill(d, d + c * cin, 0.0f);
  for (int64_t j = 0; j < c; ++j) d[j * cin + (j * 5 + seed) % cin] = 1.0f;
  return t;
}

constexpr int64_t kIn = 16;  // channels of x

// x (n x 16 x h x w) -> one 1x1 Conv per part (channels[i] outputs; with axis != 1 every
// part has channels[0]) -> Concat(axis) [-> MaxPool 1x1, which reads channels-last].
ir::Graph conv_concat_graph(int64_t n, int64_t h, int64_t w, const std::vector<int64_t>& channels,
                            int64_t axis, bool pool_after) {
  ir::Graph g;
  g.opsets[""] = 17;
  g.inputs.push_back(
      ir::ValueInfo{"x", DType::kF32, std::vector<ir::Dim>{{n, ""}, {kIn, ""}, {h, ""}, {w, ""}}});
  std::vector<std::string> parts;
  for (size_t i = 0; i < channels.size(); ++i) {
    const std::string name = "c" + std::to_string(i);
    g.initializers[name + ".w"] =
        one_hot_weights(channels[i], kIn, static_cast<int64_t>(i) * 3 + 1);
    g.nodes.push_back(make_node(name, "Conv", {"x", name + ".w"}, name));
    parts.push_back(name);
  }
  g.nodes.push_back(make_node("cat", "Concat", parts, "y", {{"axis", attr(axis)}}));
  if (pool_after)
    g.nodes.push_back(make_node("pool", "MaxPool", {"y"}, "p",
                                {{"kernel_shape", attr(std::vector<int64_t>{1, 1})}}));
  g.outputs.push_back(ir::ValueInfo{pool_after ? "p" : "y", DType::kUndefined, std::nullopt});
  g.validate_and_sort();
  return g;
}

// Runs the graph on cpu and ref; expects the same values exactly; returns the Concat's impl.
std::string expect_exact(const ir::Graph& g, const std::vector<Tensor>& feeds, int threads,
                         const std::string& label) {
  const auto r = run_cpu_and_ref(g, feeds, threads);
  EXPECT_EQ(relative_error(r.got[0], r.want[0]), 0.0) << label;
  return concat_impl(*r.cpu);
}

struct NoOwnConcat {
  NoOwnConcat() { setenv("FRUGAL_NO_OWN_CONCAT", "1", 1); }
  ~NoOwnConcat() { unsetenv("FRUGAL_NO_OWN_CONCAT"); }
};

const std::vector<std::vector<int64_t>> kChannels = {
    {1, 3}, {32, 32, 17}, {100, 1, 32, 3}, {17, 3, 1, 32, 100}, {32, 32, 32, 32, 32, 64},
};

}  // namespace

TEST(CpuConcat, ChannelsLastFromConvolutionsIsExact) {
  size_t i = 0, own_nhwc = 0;
  for (int64_t n : {1, 2, 3})
    for (const auto& channels : kChannels)
      for (int64_t hw : {1, 5, 14, 28}) {
        const int threads = 1 + static_cast<int>((i + i / 4) % 2);
        const bool pool_after = i % 3 == 0;
        ++i;
        const int64_t h = hw, w = hw == 1 ? 1 : hw + 1;
        const std::string label = label_of(n, h, w, channels, 1, threads);
        const std::string impl = expect_exact(conv_concat_graph(n, h, w, channels, 1, pool_after),
                                              {random_tensor({n, kIn, h, w}, i)}, threads, label);
        EXPECT_EQ(impl.rfind("loop:concat:", 0), 0u) << label << ": " << impl;
        own_nhwc += impl == "loop:concat:nhwc";
      }
  // The convolutions write channels-last on this CPU: most Concats must read it.
  EXPECT_GE(own_nhwc, i / 2) << "of " << i;
}

TEST(CpuConcat, ChannelsLastAlongOtherAxesIsExact) {
  size_t i = 0;
  for (int64_t axis : {0, 2, 3, -1})
    for (int64_t n : {1, 2})
      for (size_t parts : {2, 3, 6}) {
        const int threads = 1 + static_cast<int>(i++ % 2);
        const std::vector<int64_t> channels(parts, i % 2 ? 17 : 32);
        const std::string label = label_of(n, 7, 9, channels, axis, threads);
        const std::string impl = expect_exact(conv_concat_graph(n, 7, 9, channels, axis, false),
                                              {random_tensor({n, kIn, 7, 9}, i)}, threads, label);
        EXPECT_EQ(impl.rfind("loop:concat:", 0), 0u) << label << ": " << impl;
      }
}

// Large enough to be shared by two threads whatever the threshold (1 MiB a thread while
// OpenMP workers sleep).
TEST(CpuConcat, LargeConcatOnTwoThreadsIsExact) {
  const std::vector<int64_t> channels = {100, 17, 32, 3, 1, 200};
  const std::string impl = expect_exact(conv_concat_graph(3, 28, 28, channels, 1, false),
                                        {random_tensor({3, kIn, 28, 28}, 9)}, 2, "large");
  EXPECT_EQ(impl, "loop:concat:nhwc");
}

TEST(CpuConcat, PlainGraphInputsAlongEveryAxisAreExact) {
  const std::vector<Shape> bases = {{6, 5}, {2, 3, 7}, {3, 4, 5, 6}, {1, 17, 1, 1}, {2, 1, 28, 28}};
  size_t i = 0;
  for (const Shape& base : bases)
    for (int64_t axis = 0; axis < static_cast<int64_t>(base.size()); ++axis)
      for (size_t parts : {2, 4}) {
        std::vector<Operand> operands;
        for (size_t k = 0; k < parts; ++k) {
          Shape s = base;
          s[static_cast<size_t>(axis)] = static_cast<int64_t>(k % 3) * 8 + 1;  // 1, 9, 17
          operands.push_back(input("x" + std::to_string(k), random_tensor(s, ++i)));
        }
        const int threads = 1 + static_cast<int>(i % 2);
        const int64_t rank = static_cast<int64_t>(base.size());
        const OneNode t =
            one_node("Concat", operands, {{"axis", attr(i % 2 ? axis - rank : axis)}});
        const std::string label = "plain " + shape_str(base) + " axis " + std::to_string(axis) +
                                  " parts " + std::to_string(parts);
        const std::string impl = expect_exact(t.graph, t.feeds, threads, label);
        EXPECT_EQ(impl, "loop:concat:plain") << label;
      }
}

// FRUGAL_NO_OWN_CONCAT=1 keeps oneDNN's concat, with the same result.
TEST(CpuConcat, SwitchOffKeepsOneDnn) {
  const NoOwnConcat off;
  const std::string impl = expect_exact(conv_concat_graph(2, 5, 6, {32, 17}, 1, false),
                                        {random_tensor({2, kIn, 5, 6}, 3)}, 1, "off");
  EXPECT_EQ(impl.rfind("onednn:", 0), 0u) << impl;
}

// A channel-blocked layout is not a copy of rows: no plan (oneDNN's concat runs it).
TEST(CpuConcat, NoPlanForBlockedLayouts) {
  using tag = dnnl::memory::format_tag;
  const auto f32 = dnnl::memory::data_type::f32;
  const dnnl::memory::desc a({1, 16, 4, 4}, f32, tag::nChw16c), b({1, 32, 4, 4}, f32, tag::nChw16c);
  const dnnl::memory::desc y({1, 48, 4, 4}, f32, tag::nChw16c);
  EXPECT_FALSE(kernels::cpu::concat_plan({a, b}, y, 1).has_value());
  const dnnl::memory::desc an({2, 16, 4, 4}, f32, tag::nhwc), bn({2, 32, 4, 4}, f32, tag::nhwc);
  const dnnl::memory::desc yn({2, 48, 4, 4}, f32, tag::nhwc);
  const auto p = kernels::cpu::concat_plan({an, bn}, yn, 1);
  ASSERT_TRUE(p.has_value());
  EXPECT_EQ(p->rows, 32);
  EXPECT_EQ(p->dst_row, 48 * 4);
  EXPECT_EQ(p->src_row, (std::vector<int64_t>{64, 128}));
  EXPECT_EQ(p->dst_offset, (std::vector<int64_t>{0, 64}));
  // Inputs in another order than the output: not one copy of rows.
  const dnnl::memory::desc ap({2, 16, 4, 4}, f32, tag::nchw);
  EXPECT_FALSE(kernels::cpu::concat_plan({ap, bn}, yn, 1).has_value());
}

// Both copies (AVX-512 and memcpy) at every cut into 1-4 thread shares, on multiples of
// 4 bytes and of 64 (the kernel's), against a naive copy.
TEST(CpuConcat, EverySplitOfTheCopyWritesEachByteOnce) {
  kernels::cpu::ConcatPlan p;
  p.rows = 7;
  for (int64_t floats : {1, 3, 17, 32, 100, 600}) {
    p.dst_offset.push_back(p.dst_row);
    p.src_row.push_back(floats * 4);
    p.dst_row += floats * 4;
  }
  std::vector<std::vector<char>> srcs;
  std::vector<const char*> ptrs;
  for (size_t i = 0; i < p.src_row.size(); ++i) {
    srcs.emplace_back(static_cast<size_t>(p.rows * p.src_row[i]));
    for (size_t k = 0; k < srcs.back().size(); ++k)
      srcs.back()[k] = static_cast<char>((k * 31 + i * 7) % 251);
    ptrs.push_back(srcs.back().data());
  }
  const int64_t bytes = p.rows * p.dst_row;
  std::vector<char> want(static_cast<size_t>(bytes));
  for (int64_t r = 0; r < p.rows; ++r)
    for (size_t i = 0; i < srcs.size(); ++i)
      std::memcpy(want.data() + r * p.dst_row + p.dst_offset[i], srcs[i].data() + r * p.src_row[i],
                  static_cast<size_t>(p.src_row[i]));
  using CopyFn =
      void (*)(const kernels::cpu::ConcatPlan&, const char* const*, char*, int64_t, int64_t);
  std::vector<CopyFn> copies = {kernels::cpu::concat_bytes};
  if (kernels::cpu::concat_isa_available()) copies.push_back(kernels::cpu::concat_bytes_avx512);
  for (CopyFn copy : copies)
    for (int64_t unit : {4, 64})
      for (int T = 1; T <= 4; ++T) {
        std::vector<char> got(static_cast<size_t>(bytes), 0x7f);
        const int64_t units = (bytes + unit - 1) / unit;
        for (int t = 0; t < T; ++t)
          copy(p, ptrs.data(), got.data(), units * t / T * unit,
               std::min(units * (t + 1) / T * unit, bytes));
        EXPECT_EQ(got, want) << "unit " << unit << " threads " << T;
      }
}
