// DenseNet's pattern on the cpu backend: convolutions whose outputs a chain of Concats (or a
// lone Concat) gathers, each Concat read by a BatchNormalization + Relu (the scale-shift
// kernel) before the next Conv. At batch > 1 the Concats copy (their parts are not byte
// ranges of the output) and the scale-shift reads the Concat's channels-last output as it
// is. Against ref on the unfused graph, with the arena NaN-poisoned, over batch 1/2/3,
// growth rates that are and are not multiples of 16, chains and lone Concats.
#include <gtest/gtest.h>

#include "frugal/kernels/threads.h"
#include "kernels/cpu_testing.h"

using namespace frugal;
using namespace frugal::cpu_testing;

namespace {

struct Block {
  ir::Graph graph;
  Shape x;
};

// f0 = Conv3x3(x) (16 channels); for k = 1..layers: f_k = Conv3x3(Relu(BN(cat_{k-1})))
// (`growth` channels) with cat_0 = f0 and cat_k = Concat(f0..f_k); y = Conv1x1(Relu(BN(cat_L))),
// or y = Relu(BN(cat_L)) without `head_conv` (the scale-shift then writes plain).
Block dense_block(int64_t batch, int64_t growth, int layers, bool head_conv, int64_t h = 9,
                  int64_t w = 11) {
  Block b;
  b.x = {batch, 3, h, w};
  ir::Graph& g = b.graph;
  g.opsets[""] = 17;
  g.inputs.push_back(ir::ValueInfo{"x", DType::kF32,
                                   std::vector<ir::Dim>{{batch, ""}, {3, ""}, {h, ""}, {w, ""}}});
  uint64_t seed = 10;
  auto conv = [&](const std::string& name, const std::string& in, int64_t cin, int64_t cout,
                  int64_t k) {
    g.initializers[name + ".w"] = random_tensor({cout, cin, k, k}, ++seed, 0.3f);
    const int64_t pad = k / 2;
    g.nodes.push_back(make_node(name, "Conv", {in, name + ".w"}, name,
                                {{"pads", attr(std::vector<int64_t>{pad, pad, pad, pad})}}));
  };
  auto bn_relu = [&](const std::string& name, const std::string& in, int64_t c) {
    for (const char* p : {".scale", ".b", ".mean"})
      g.initializers[name + p] = random_tensor({c}, ++seed);
    g.initializers[name + ".var"] = uniform_tensor({c}, ++seed, 0.1f, 2.0f);
    g.nodes.push_back(make_node(name, "BatchNormalization",
                                {in, name + ".scale", name + ".b", name + ".mean", name + ".var"},
                                name + ".n"));
    g.nodes.push_back(make_node(name + ".relu", "Relu", {name + ".n"}, name + ".r"));
    return name + ".r";
  };
  conv("f0", "x", 3, 16, 3);
  std::vector<std::string> parts = {"f0"};
  std::string cat = "f0";
  int64_t c = 16;
  for (int k = 1; k <= layers; ++k) {
    const std::string f = "f" + std::to_string(k);
    conv(f, bn_relu("bn" + std::to_string(k), cat, c), c, growth, 3);
    parts.push_back(f);
    c += growth;
    cat = "cat" + std::to_string(k);
    g.nodes.push_back(make_node(cat, "Concat", parts, cat, {{"axis", attr(int64_t{1})}}));
  }
  const std::string head = bn_relu("bn_out", cat, c);
  if (head_conv) conv("y", head, c, 8, 1);
  g.outputs.push_back({head_conv ? "y" : head, DType::kUndefined, std::nullopt});
  g.validate_and_sort();
  return b;
}

// The block on the cpu backend at `threads` threads against ref; `label` names the case.
void expect_block_matches_ref(const Block& blk, int threads, const std::string& label,
                              size_t native_values) {
  const Tensor x = random_tensor(blk.x, 1);
  runtime::SessionOptions ref_opt;
  ref_opt.backends = {"ref"};
  ref_opt.optimize = false;
  const auto want = runtime::Session(blk.graph, ref_opt).run({x});
  kernels::set_threads(threads);
  runtime::SessionOptions opt;
  opt.backends = {"cpu", "ref"};
  opt.poison_arena = true;
  opt.parallel_min_us = 0;  // every node on all threads
  runtime::Session s(blk.graph, opt);
  s.run({x});  // twice: the second run reuses an arena the first one filled
  const auto got = s.run({x});
  kernels::set_threads(1);
  const std::string at = label + " threads " + std::to_string(threads);
  EXPECT_LE(relative_error(got[0], want[0]), 1e-5) << at;
  std::string impls;
  for (const auto& a : s.assignments()) impls += a.op_type + "=" + a.impl + " ";
  EXPECT_EQ(impls.find("ref:"), std::string::npos) << at << ": " << impls;
  // At batch > 1 nothing is placed in place: the values between these kernels (each conv's
  // output, each Concat, each scale-shift read by a conv) stay channels-last on AVX-512.
  if (blk.x[0] > 1 && __builtin_cpu_supports("avx512f")) {
    EXPECT_EQ(s.native_layout_values(), native_values) << at << ": " << impls;
  }
}

}  // namespace

TEST(CpuDenseBlock, ConcatsIntoScaleShiftMatchRef) {
  for (int64_t batch : {1, 2, 3}) {
    for (int64_t growth : {16, 24}) {
      for (int layers : {1, 3}) {  // a lone Concat, a chain of three
        for (bool head_conv : {true, false}) {
          const std::string label = "batch " + std::to_string(batch) + " growth " +
                                    std::to_string(growth) + " layers " + std::to_string(layers) +
                                    (head_conv ? " conv head" : " plain head");
          for (int threads : {1, 2})
            expect_block_matches_ref(dense_block(batch, growth, layers, head_conv), threads, label,
                                     static_cast<size_t>(3 * layers + 1 + head_conv));
        }
      }
    }
  }
}

// Large enough (2 x 32 x 96 x 96 into the last scale-shift) for the pass to be shared by
// two threads, reading channels-last and writing channels-last or plain.
TEST(CpuDenseBlock, LargeScaleShiftOnTwoThreadsMatchesRef) {
  for (bool head_conv : {true, false})
    expect_block_matches_ref(dense_block(2, 16, 1, head_conv, 96, 96), 2,
                             head_conv ? "96x96 conv head" : "96x96 plain head",
                             static_cast<size_t>(4 + head_conv));
}
