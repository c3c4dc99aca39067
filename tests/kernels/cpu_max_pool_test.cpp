// frugal's own channels-last MaxPool on the cpu backend (kernels/cpu/max_pool.h) against
// the reference kernel: between two 1x1 convolutions (so that it reads and writes their
// channels-last layout) and as the graph's output; batch 1/2/3, channels 16/24/64/80/200
// (partial 16-channel vectors, more than one 64-channel group), squeezenet's ceil-mode
// 3x3/2, padded, asymmetric, dilated and rectangular windows; 1 and 2 threads.
#include <gtest/gtest.h>

#include <cstdlib>

#include "frugal/kernels/cpu/max_pool.h"
#include "frugal/kernels/threads.h"
#include "kernels/cpu_testing.h"

using namespace frugal;
using namespace frugal::cpu_testing;

namespace {

const char* const kOwn = "loop:maxpool_avx512:nhwc";

struct Window {
  std::vector<int64_t> kernel, strides, pads, dilations;
  int64_t ceil_mode = 0;
};

const std::vector<Window> kWindows = {
    {{3, 3}, {2, 2}, {0, 0, 0, 0}, {1, 1}, 1},  // squeezenet: ceil mode, last window clipped
    {{3, 3}, {1, 1}, {1, 1, 1, 1}, {1, 1}, 0}, {{2, 2}, {2, 2}, {0, 0, 0, 0}, {1, 1}, 0},
    {{3, 3}, {2, 2}, {1, 0, 0, 1}, {1, 1}, 1},  // asymmetric pads
    {{3, 3}, {1, 2}, {2, 2, 2, 2}, {2, 2}, 0},  // dilated
    {{3, 2}, {2, 1}, {1, 0, 1, 1}, {1, 1}, 0},  // rectangular
};

std::string label_of(int64_t n, int64_t c, int64_t h, int64_t w, const Window& win) {
  std::string s = "n" + std::to_string(n) + " c" + std::to_string(c) + " " + std::to_string(h) +
                  "x" + std::to_string(w) + " k" + std::to_string(win.kernel[0]) + "x" +
                  std::to_string(win.kernel[1]) + " s" + std::to_string(win.strides[0]) + "," +
                  std::to_string(win.strides[1]) + " d" + std::to_string(win.dilations[0]) +
                  " ceil" + std::to_string(win.ceil_mode) + " pads";
  for (int64_t p : win.pads) s += " " + std::to_string(p);
  return s;
}

// x (n x 16 x h x w) -> 1x1 Conv to c channels -> MaxPool [-> 1x1 Conv to 8 channels].
ir::Graph pool_graph(int64_t n, int64_t c, int64_t h, int64_t w, const Window& win,
                     bool conv_after) {
  ir::Graph g;
  g.opsets[""] = 17;
  g.inputs.push_back(
      ir::ValueInfo{"x", DType::kF32, std::vector<ir::Dim>{{n, ""}, {16, ""}, {h, ""}, {w, ""}}});
  g.initializers["w1"] = random_tensor({c, 16, 1, 1}, 4, 0.3f);
  g.initializers["w2"] = random_tensor({8, c, 1, 1}, 5, 0.3f);
  g.nodes.push_back(make_node("pw1", "Conv", {"x", "w1"}, "a"));
  g.nodes.push_back(make_node("pool", "MaxPool", {"a"}, "p",
                              {{"kernel_shape", attr(win.kernel)},
                               {"strides", attr(win.strides)},
                               {"pads", attr(win.pads)},
                               {"dilations", attr(win.dilations)},
                               {"ceil_mode", attr(win.ceil_mode)}}));
  if (conv_after) g.nodes.push_back(make_node("pw2", "Conv", {"p", "w2"}, "y"));
  g.outputs.push_back(ir::ValueInfo{conv_after ? "y" : "p", DType::kUndefined, std::nullopt});
  g.validate_and_sort();
  return g;
}

std::string pool_impl(const runtime::Session& s) {
  for (const auto& a : s.assignments())
    if (a.op_type == "MaxPool") return a.impl;
  return "";
}

// The graph on cpu at `threads` threads (every node on all of them) against ref; returns
// the MaxPool's implementation.
std::string expect_matches_ref_at(const ir::Graph& g, const Shape& x_shape, int threads,
                                  const std::string& label) {
  const auto r = run_cpu_and_ref(g, {random_tensor(x_shape, 1)}, threads);
  EXPECT_LE(relative_error(r.got[0], r.want[0]), 1e-5) << label << " threads " << threads;
  return pool_impl(*r.cpu);
}

struct NoOwnMaxPool {
  NoOwnMaxPool() { setenv("FRUGAL_NO_OWN_MAXPOOL", "1", 1); }
  ~NoOwnMaxPool() { unsetenv("FRUGAL_NO_OWN_MAXPOOL"); }
};

}  // namespace

TEST(CpuMaxPool, BetweenConvolutionsMatchesRefOverShapesAndThreads) {
  if (!kernels::cpu::max_pool_isa_available())
    GTEST_SKIP() << "no AVX-512 on this CPU: the own kernel is not used";
  size_t i = 0;
  for (int64_t n : {1, 2, 3})
    for (int64_t c : {16, 24, 64, 80, 200})
      for (const Window& win : kWindows) {
        const int64_t h = i % 2 ? 9 : 13, w = i % 3 ? 11 : 14;
        const int threads = 1 + static_cast<int>(i % 2);
        ++i;
        const std::string label = label_of(n, c, h, w, win);
        const std::string impl =
            expect_matches_ref_at(pool_graph(n, c, h, w, win, true), {n, 16, h, w}, threads, label);
        EXPECT_EQ(impl, kOwn) << label;
      }
}

TEST(CpuMaxPool, AsTheGraphOutputAndOnTwoThreads) {
  if (!kernels::cpu::max_pool_isa_available())
    GTEST_SKIP() << "no AVX-512 on this CPU: the own kernel is not used";
  for (int threads : {1, 2})
    for (const Window& win : kWindows) {
      const std::string label = label_of(2, 40, 15, 12, win) + " (graph output)";
      const std::string impl = expect_matches_ref_at(pool_graph(2, 40, 15, 12, win, false),
                                                     {2, 16, 15, 12}, threads, label);
      EXPECT_EQ(impl, kOwn) << label;
    }
}

// FRUGAL_NO_OWN_MAXPOOL=1 keeps oneDNN's pooling, with the same result; a MaxPool that
// reads a plain graph input (no channels-last producer) keeps oneDNN's as well.
TEST(CpuMaxPool, SwitchOffAndPlainInputKeepOneDnn) {
  const Window& win = kWindows[0];
  {
    const NoOwnMaxPool off;
    const std::string impl =
        expect_matches_ref_at(pool_graph(1, 64, 13, 13, win, true), {1, 16, 13, 13}, 1, "off");
    EXPECT_EQ(impl.rfind("onednn:", 0), 0u) << impl;
  }
  const OneNode t = one_node("MaxPool", {input("x", random_tensor({2, 24, 9, 9}, 3))},
                             {{"kernel_shape", attr(win.kernel)}, {"strides", attr(win.strides)}});
  expect_matches_ref(t, 1e-6);
  const std::string impl = run_on("cpu", t.graph, t.feeds).assignments.at(0).impl;
  EXPECT_EQ(impl.rfind("onednn:", 0), 0u) << impl;
}
