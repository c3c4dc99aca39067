// Views (runtime/views.h, kernels/views.h): Reshape, Transpose and Split steps whose
// output is their input's bytes are elided and their outputs placed in the input's
// buffer. The graphs are exact on both backends (one-hot 1x1 convolutions, Relu, Neg, Add,
// Mul: one rounding each, the same on both), so the cpu backend's outputs must equal the
// ref backend's bit for bit, in an arena poisoned with NaN before every run, at 1 and 2
// threads, batch 1 and 3, and equal the plan without the stage (FRUGAL_NO_VIEWS=1).
#include <gtest/gtest.h>

#include <cstdlib>
#include <cstring>

#include "cpu_testing.h"

using namespace frugal;
using namespace frugal::cpu_testing;

namespace {

struct Built {
  ir::Graph g;
  std::vector<Tensor> feeds;
};

// A 1x1 convolution whose output channel o is input channel (5 o + 3) mod c_in: exact.
Tensor one_hot(int64_t c_out, int64_t c_in) {
  Tensor w(DType::kF32, {c_out, c_in, 1, 1});
  std::memset(w.raw(), 0, w.nbytes());
  for (int64_t o = 0; o < c_out; ++o) w.data<float>()[o * c_in + (5 * o + 3) % c_in] = 1.0f;
  return w;
}

Tensor i64(std::vector<int64_t> v) {
  Tensor t(DType::kI64, {static_cast<int64_t>(v.size())});
  for (size_t i = 0; i < v.size(); ++i) t.data<int64_t>()[i] = v[i];
  return t;
}

void add_input(Built& b, const std::string& name, const Shape& shape, uint64_t seed) {
  ir::ValueInfo vi{name, DType::kF32, std::vector<ir::Dim>{}};
  for (int64_t d : shape) vi.shape->push_back(ir::Dim{d, ""});
  b.g.inputs.push_back(vi);
  b.feeds.push_back(random_tensor(shape, seed));
}

void add_output(Built& b, const std::string& name) {
  b.g.outputs.push_back(ir::ValueInfo{name, DType::kUndefined, std::nullopt});
}

ir::Attribute perm(std::vector<int64_t> p) {
  return attr(std::move(p));
}

struct Planned {
  std::vector<Tensor> outputs;
  size_t views = 0;
  std::vector<runtime::NodeAssignment> assignments;
  std::string impl(const std::string& node) const {
    for (const auto& a : assignments)
      if (a.node_name == node) return a.impl;
    return "";
  }
};

Planned run(const Built& b, std::vector<std::string> backends, int threads, bool views,
            bool optimize = true) {
  if (views)
    unsetenv("FRUGAL_NO_VIEWS");
  else
    setenv("FRUGAL_NO_VIEWS", "1", 1);
  runtime::SessionOptions o;
  o.backends = std::move(backends);
  o.threads = threads;
  o.optimize = optimize;
  o.poison_arena = true;  // a view whose buffer was reused or never written reads NaN
  runtime::Session s(b.g, o);
  unsetenv("FRUGAL_NO_VIEWS");
  Planned r{{}, s.plan().views, s.assignments()};
  s.run(b.feeds);
  r.outputs = s.run(b.feeds);  // the second run: the arena holds the first run's bytes
  for (auto& t : r.outputs) t = t.clone();
  return r;
}

void expect_bitwise_equal(const std::vector<Tensor>& got, const std::vector<Tensor>& want,
                          const std::string& what) {
  ASSERT_EQ(got.size(), want.size()) << what;
  for (size_t i = 0; i < got.size(); ++i) {
    ASSERT_EQ(got[i].shape(), want[i].shape()) << what << " output " << i;
    EXPECT_EQ(std::memcmp(got[i].raw(), want[i].raw(), got[i].nbytes()), 0)
        << what << " output " << i;
  }
}

// Runs `b` on ref and on cpu with and without views at 1 and 2 threads; returns the cpu
// plan with views at 1 thread.
Planned expect_views_exact(const Built& b, const std::string& what, bool optimize = true) {
  const Planned want = run(b, {"ref"}, 1, true, optimize);
  Planned first;
  for (int threads : {1, 2}) {
    const std::string at = what + ", " + std::to_string(threads) + " threads";
    Planned on = run(b, {"cpu", "ref"}, threads, true, optimize);
    const Planned off = run(b, {"cpu", "ref"}, threads, false, optimize);
    EXPECT_EQ(off.views, 0u) << at;
    expect_bitwise_equal(on.outputs, want.outputs, at + ", views against ref");
    expect_bitwise_equal(off.outputs, want.outputs, at + ", no views against ref");
    if (threads == 1) first = std::move(on);
  }
  return first;
}

// Which layouts oneDNN's convolutions choose depends on the ISA: the counts of views
// below are those of AVX-512 (nhwc at 96 channels), as on this project's machines.
bool has_avx512() {
  return __builtin_cpu_supports("avx512f");
}
constexpr const char* kNoAvx512 =
    "no AVX-512: oneDNN's convolutions may not keep nhwc; only the outputs were checked";

// ConvNeXt's block: a convolution (nhwc or blocked), a permute to channels-last around an
// elementwise middle (its LayerNorm and Linear layers), a permute back, a per-channel
// scale and the residual Add, then the next convolution.
Built channels_last_block(int64_t n, int64_t c, int64_t hw) {
  Built b;
  b.g.opsets[""] = 17;
  add_input(b, "x", {n, c, hw, hw}, 11);
  b.g.initializers["w0"] = one_hot(c, c);
  b.g.initializers["w1"] = one_hot(c, c);
  b.g.initializers["scale"] = random_tensor({1, c, 1, 1}, 12);
  b.g.nodes = {make_node("conv0", "Conv", {"x", "w0"}, "c0"),
               make_node("to_last", "Transpose", {"c0"}, "t1", {{"perm", perm({0, 2, 3, 1})}}),
               make_node("middle", "Relu", {"t1"}, "r"),
               make_node("to_first", "Transpose", {"r"}, "t2", {{"perm", perm({0, 3, 1, 2})}}),
               make_node("scale", "Mul", {"t2", "scale"}, "m"),
               make_node("residual", "Add", {"m", "c0"}, "a"),
               make_node("conv1", "Conv", {"a", "w1"}, "y")};
  add_output(b, "y");
  b.g.validate_and_sort();
  return b;
}

}  // namespace

TEST(CpuViews, PermutesAroundAChannelsLastBlockMoveNothing) {
  for (int64_t c : {8, 16, 96})
    for (int64_t n : {1, 3}) {
      const std::string what = "channels " + std::to_string(c) + ", batch " + std::to_string(n);
      const Planned r = expect_views_exact(channels_last_block(n, c, 6), what);
      // Where the convolutions keep channels last (96 channels: nhwc, as in ConvNeXt), both
      // permutes are views; blocked layouts (8, 16) are not one order of the dims.
      if (c == 96 && has_avx512()) {
        EXPECT_EQ(r.views, 2u) << what;
        EXPECT_EQ(r.impl("to_last").rfind("view", 0), 0u) << what << ": " << r.impl("to_last");
        EXPECT_EQ(r.impl("to_first").rfind("view", 0), 0u) << what << ": " << r.impl("to_first");
      }
    }
  if (!has_avx512()) GTEST_SKIP() << kNoAvx512;
}

// a = Relu(x); v1 = Reshape(a) and v2 = Reshape(v1) (a view of a view); a is read again
// late (Mul), after a run of values of a's size that would take a's buffer were it freed
// at a's own last reader; v2 is read last of all.
TEST(CpuViews, ViewsOfViewsKeepTheirBufferUntilTheLastReader) {
  for (int64_t n : {1, 3}) {
    Built b;
    b.g.opsets[""] = 17;
    add_input(b, "x", {n, 4, 8, 8}, 21);
    b.g.initializers["flat"] = i64({n, 256});
    b.g.initializers["rows"] = i64({n, 4, 64});
    b.g.nodes = {make_node("a", "Relu", {"x"}, "a"),
                 make_node("v1", "Reshape", {"a", "flat"}, "v1"),
                 make_node("v2", "Reshape", {"v1", "rows"}, "v2"),
                 make_node("b", "Neg", {"x"}, "b"),
                 make_node("c", "Relu", {"b"}, "c"),
                 make_node("d", "Neg", {"c"}, "d"),
                 make_node("e", "Mul", {"a", "d"}, "e"),
                 make_node("f", "Neg", {"e"}, "f"),
                 make_node("g", "Reshape", {"f", "rows"}, "g"),
                 make_node("y", "Add", {"v2", "g"}, "y")};
    add_output(b, "y");
    b.g.validate_and_sort();
    const Planned r = expect_views_exact(b, "batch " + std::to_string(n));
    EXPECT_EQ(r.views, 3u);
    for (const char* v : {"v1", "v2", "g"})
      EXPECT_EQ(r.impl(v).rfind("view", 0), 0u) << v << ": " << r.impl(v);
  }
}

// Graph inputs, constants and graph outputs live outside the arena: their Reshapes copy.
TEST(CpuViews, InputsConstantsAndOutputsAreCopied) {
  for (int64_t n : {1, 3}) {
    Built b;
    b.g.opsets[""] = 17;
    add_input(b, "x", {n, 4, 4, 4}, 31);
    b.g.initializers["w"] = random_tensor({64}, 32);
    b.g.initializers["flat"] = i64({n, 64});
    b.g.initializers["row"] = i64({1, 64});
    b.g.initializers["rows"] = i64({n, 4, 16});
    b.g.nodes = {make_node("of_input", "Reshape", {"x", "flat"}, "rx"),
                 make_node("of_constant", "Reshape", {"w", "row"}, "rw"),
                 make_node("s", "Add", {"rx", "rw"}, "s"),
                 make_node("r", "Relu", {"s"}, "r"),
                 make_node("to_output", "Reshape", {"r", "rows"}, "o"),
                 make_node("y", "Relu", {"s"}, "y")};
    add_output(b, "o");
    add_output(b, "y");
    b.g.validate_and_sort();
    // Unoptimized: constant folding would fold the constant's Reshape away.
    const Planned r = expect_views_exact(b, "batch " + std::to_string(n), false);
    EXPECT_EQ(r.views, 0u);
    for (const char* v : {"of_input", "of_constant", "to_output"})
      EXPECT_NE(r.impl(v).rfind("view", 0), 0u) << v;
  }
}

// A residual Add fused into a convolution may write its output over the addend's buffer
// where the addend dies (runtime/sum_in_place.h): not where a view of the addend is read
// later, nor over a view's buffer. 96 channels: the convolutions keep nhwc, so that the
// permutes to channels-last are views.
TEST(CpuViews, SumsInPlaceNeverWriteOverALiveView) {
  for (int64_t n : {1, 3}) {
    Built b;
    b.g.opsets[""] = 17;
    add_input(b, "x", {n, 96, 6, 6}, 41);
    b.g.initializers["w"] = one_hot(96, 96);
    const auto last = perm({0, 2, 3, 1}), first = perm({0, 3, 1, 2});
    b.g.nodes = {make_node("a", "Conv", {"x", "w"}, "a"),
                 make_node("v", "Transpose", {"a"}, "v", {{"perm", last}}),
                 make_node("conv", "Conv", {"x", "w"}, "k"),
                 make_node("sum", "Add", {"k", "a"}, "s"),  // fused: a's last reader
                 make_node("st", "Transpose", {"s"}, "st", {{"perm", last}}),
                 make_node("y", "Add", {"v", "st"}, "y"),  // v read after the sum
                 // The addend a view: t is r's bytes.
                 make_node("r0", "Transpose", {"x"}, "r0", {{"perm", last}}),
                 make_node("r", "Relu", {"r0"}, "r"),
                 make_node("t", "Transpose", {"r"}, "t", {{"perm", first}}),
                 make_node("conv2", "Conv", {"x", "w"}, "k2"),
                 make_node("sum2", "Add", {"k2", "t"}, "z"),
                 make_node("conv3", "Conv", {"z", "w"}, "z3")};
    add_output(b, "y");
    add_output(b, "z3");
    b.g.validate_and_sort();
    const std::string what = "batch " + std::to_string(n);
    const Planned r = expect_views_exact(b, what);
    if (!has_avx512()) GTEST_SKIP() << kNoAvx512;
    for (const char* v : {"v", "st", "t"})
      EXPECT_EQ(r.impl(v).rfind("view", 0), 0u) << what << " " << v << ": " << r.impl(v);
    for (const char* c : {"conv", "conv2"})
      EXPECT_EQ(r.impl(c).find("output over input"), std::string::npos) << c << ": " << r.impl(c);
    // The check means something: without views, a dies at the fused sum and is written over.
    const Planned off = run(b, {"cpu", "ref"}, 1, false);
    EXPECT_NE(off.impl("conv").find("output over input"), std::string::npos) << off.impl("conv");
  }
}

// Split along an axis with only 1s before it: each piece a byte range of the input (when
// its offset keeps the arena's 64-byte alignment); at batch 3, or at an unaligned offset,
// the pieces are copied.
TEST(CpuViews, SplitPiecesAreByteRanges) {
  struct Case {
    int64_t n;
    std::vector<int64_t> sizes;
    bool views;
  };
  for (const Case& c : {Case{1, {2, 4}, true}, Case{3, {2, 4}, false}, Case{1, {1, 5}, false}}) {
    Built b;
    b.g.opsets[""] = 17;
    const int64_t inner = c.sizes[0] == 1 ? 8 : 32;  // 32 or 128 bytes a row
    add_input(b, "x", {c.n, 6, inner}, 51);
    b.g.initializers["sizes"] = i64(c.sizes);
    b.g.nodes = {make_node("a", "Relu", {"x"}, "a"),
                 make_node("split", "Split", {"a", "sizes"}, "p")};
    b.g.nodes.back().outputs = {"p0", "p1"};
    b.g.nodes.back().attrs["axis"] = attr(int64_t{1});
    b.g.nodes.push_back(make_node("n0", "Neg", {"p0"}, "y0"));
    b.g.nodes.push_back(make_node("n1", "Relu", {"p1"}, "y1"));
    add_output(b, "y0");
    add_output(b, "y1");
    b.g.validate_and_sort();
    const std::string what =
        "batch " + std::to_string(c.n) + ", first piece " + std::to_string(c.sizes[0]);
    const Planned r = expect_views_exact(b, what);
    EXPECT_EQ(r.views, c.views ? 1u : 0u) << what;
  }
}

// Attention's packed Q, K, V (Swin, ViT): a Transpose to [3, batch, heads, T, d], then
// Gather of the constant index 0, 1, 2 on axis 0 (torch's qkv[i]): each Gather's output is
// one slab of the Transpose's output, a view. A Gather with something before its axis, or
// of two rows, copies.
TEST(CpuViews, GatherOfOneSlabIsAView) {
  for (int64_t n : {1, 3}) {
    Built b;
    b.g.opsets[""] = 17;
    add_input(b, "x", {n, 5, 3, 2, 8}, 51);
    for (int64_t i : {0, 1, 2}) {
      Tensor t(DType::kI64, {});
      t.data<int64_t>()[0] = i;
      b.g.initializers["i" + std::to_string(i)] = t;
    }
    b.g.initializers["rows"] = i64({0, 2});
    b.g.nodes = {make_node("qkv", "Transpose", {"x"}, "t", {{"perm", perm({2, 0, 3, 1, 4})}}),
                 make_node("q", "Gather", {"t", "i0"}, "q"),
                 make_node("k", "Gather", {"t", "i1"}, "k"),
                 make_node("v", "Gather", {"t", "i2"}, "v"),
                 make_node("qk", "Add", {"q", "k"}, "qk"),
                 make_node("y", "Mul", {"qk", "v"}, "y"),
                 make_node("inner", "Gather", {"t", "i1"}, "g", {{"axis", attr(int64_t{2})}}),
                 make_node("two", "Gather", {"t", "rows"}, "g2"),
                 make_node("z", "Relu", {"g"}, "z"),
                 make_node("w", "Relu", {"g2"}, "w")};
    add_output(b, "y");
    add_output(b, "z");
    add_output(b, "w");
    b.g.validate_and_sort();
    const Planned r = expect_views_exact(b, "batch " + std::to_string(n));
    EXPECT_EQ(r.views, 3u);
    for (const char* v : {"q", "k", "v"})
      EXPECT_EQ(r.impl(v).rfind("view", 0), 0u) << v << ": " << r.impl(v);
    for (const char* v : {"inner", "two"}) EXPECT_NE(r.impl(v).rfind("view", 0), 0u) << v;
  }
}
