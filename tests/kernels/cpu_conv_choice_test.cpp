// The convolution implementation and layout switches (kernels/cpu/conv_choice.h) against
// the reference kernel: every same-layout oneDNN implementation (forced by name, and the
// one timing picks) and the blocked nChw16c activations, over channels 3 (an RGB stem)/16/
// 24 (a partial 16-channel block)/40, kernels 1/3/7, strides 1/2, groups 1/2, bias or none,
// post-ops none / relu / sum + relu, batch 1/2, 1 and 2 threads.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <sstream>

#include "frugal/kernels/cpu/threads.h"
#include "frugal/ops/post_ops.h"
#include "kernels/cpu_testing.h"

using namespace frugal;
using namespace frugal::cpu_testing;

namespace {

struct Case {
  int64_t n, ic, oc, hw, k, stride, group;
  bool bias;
  std::vector<std::string> chain;
};

std::string label_of(const Case& c) {
  std::string s = "n" + std::to_string(c.n) + " ic" + std::to_string(c.ic) + " oc" +
                  std::to_string(c.oc) + " hw" + std::to_string(c.hw) + " k" + std::to_string(c.k) +
                  " s" + std::to_string(c.stride) + " g" + std::to_string(c.group) +
                  (c.bias ? " bias" : "");
  for (const auto& e : c.chain) s += " " + e;
  return s;
}

OneNode conv_node(const Case& c) {
  const int64_t p = c.k / 2, out = (c.hw + 2 * p - c.k) / c.stride + 1;
  std::vector<Operand> ops = {
      input("x", random_tensor({c.n, c.ic, c.hw, c.hw}, 1)),
      constant("w", random_tensor({c.oc, c.ic / c.group, c.k, c.k}, 2, 0.3f)),
      c.bias ? constant("b", random_tensor({c.oc}, 3)) : omitted()};
  const bool sum = std::find(c.chain.begin(), c.chain.end(), "sum") != c.chain.end();
  if (sum) ops.push_back(input("s", random_tensor({c.n, c.oc, out, out}, 4)));
  std::map<std::string, ir::Attribute> attrs = {{"group", attr(c.group)},
                                                {"kernel_shape", attr(std::vector{c.k, c.k})},
                                                {"strides", attr(std::vector{c.stride, c.stride})},
                                                {"pads", attr(std::vector{p, p, p, p})}};
  if (!c.chain.empty()) attrs[ops::kPostOpsAttr] = attr(c.chain);
  return one_node("Conv", ops, attrs);
}

std::vector<Case> cases() {
  std::vector<Case> out;
  const std::vector<std::vector<std::string>> chains = {{}, {"relu"}, {"sum", "relu"}};
  size_t i = 0;
  struct Channels {
    int64_t ic, oc, k;
  };
  const Channels channels[] = {{3, 16, 7},  {3, 16, 3},  {16, 32, 1}, {16, 32, 3},
                               {24, 40, 1}, {24, 40, 3}, {40, 16, 1}, {40, 16, 3}};
  for (int64_t n : {1, 2})
    for (const Channels& ch : channels)
      for (int64_t s : {1, 2}) {
        const int64_t group = (i % 4 == 3 && ch.ic % 2 == 0) ? 2 : 1;
        out.push_back({n, ch.ic, ch.oc, i % 2 ? 9 : 12, ch.k, s, group, i % 3 != 0,
                       chains[i % chains.size()]});
        ++i;
      }
  return out;
}

// An environment variable set for one scope.
struct Env {
  Env(const char* name, const char* value) : name_(name) { setenv(name, value, 1); }
  ~Env() { unsetenv(name_); }
  const char* name_;
};

bool has_avx512() {
  return __builtin_cpu_supports("avx512f");
}

// Every case at 1 thread, every other one at 2 as well.
void expect_all_match(const std::string& mode) {
  const int before = kernels::cpu::num_threads();
  const std::vector<Case> all = cases();
  for (int threads : {1, 2}) {
    kernels::cpu::set_num_threads(threads);
    for (size_t i = 0; i < all.size(); i += threads)
      expect_matches_ref(conv_node(all[i]), 1e-5, "cpu",
                         label_of(all[i]) + " " + mode + " t" + std::to_string(threads));
  }
  kernels::cpu::set_num_threads(before);
}

}  // namespace

// Each implementation oneDNN offers on its first choice's layouts, forced by name.
TEST(CpuConvChoice, EveryNamedImplementationMatchesRef) {
  if (!has_avx512()) GTEST_SKIP() << "no AVX-512: oneDNN's candidates differ; not covered here";
  for (const char* name : {"jit:", "jit_1x1", "brgconv"}) {
    const Env impl("FRUGAL_CONV_IMPL", name);
    expect_all_match(name);
  }
  // The switch takes effect: a 1x1 convolution runs the named implementation, and the
  // plan says so.
  const Env impl("FRUGAL_CONV_IMPL", "jit_1x1");
  const OneNode t = conv_node({1, 16, 32, 12, 1, 1, 1, true, {"relu"}});
  const std::string got = run_on("cpu", t.graph, t.feeds).assignments.at(0).impl;
  EXPECT_EQ(got.rfind("onednn:jit_1x1:", 0), 0u) << got;
  EXPECT_NE(got.find("[FRUGAL_CONV_IMPL=jit_1x1]"), std::string::npos) << got;
}

// Timing picks any of the candidates; the result equals ref's and the plan lists the times.
TEST(CpuConvChoice, TimedMatchesRefAndNamesTheCandidates) {
  if (!has_avx512()) GTEST_SKIP() << "no AVX-512: oneDNN's candidates differ; not covered here";
  const Env impl("FRUGAL_CONV_IMPL", "timed");
  expect_all_match("timed");
  // The implementation that runs is the fastest one the note lists, on later builds too
  // (the timing's own primitives change oneDNN's order of implementations).
  for (int64_t k : {1, 3}) {
    const OneNode t = conv_node({1, 16, 32, 12, k, 1, 1, true, {"relu"}});
    for (int build = 0; build < 2; ++build) {
      const std::string got = run_on("cpu", t.graph, t.feeds).assignments.at(0).impl;
      const size_t open = got.find("[timed: ");
      ASSERT_NE(open, std::string::npos) << got;
      std::istringstream note(got.substr(open + 8));
      std::string name, unit;
      double ms = 0, best_ms = INFINITY, running_ms = INFINITY;
      while (note >> name >> ms >> unit) {
        best_ms = std::min(best_ms, ms);
        if (got.rfind("onednn:" + name + " [", 0) == 0) running_ms = ms;
      }
      EXPECT_EQ(running_ms, best_ms) << got;  // equal as printed (a tie may run either)
    }
  }
}

TEST(CpuConvChoice, BlockedLayoutMatchesRef) {
  const Env layout("FRUGAL_CONV_LAYOUT", "blocked");
  expect_all_match("blocked");
  if (!has_avx512()) return;
  // nChw16c is not brgconv's (nhwc only in oneDNN 2.6): the direct jit kernel runs it.
  const OneNode t = conv_node({1, 16, 32, 12, 3, 1, 1, true, {"relu"}});
  const std::string got = run_on("cpu", t.graph, t.feeds).assignments.at(0).impl;
  EXPECT_EQ(got.rfind("onednn:jit:avx512", 0), 0u) << got;
}

// Unset (the default) and "off": oneDNN's first choice, no note.
TEST(CpuConvChoice, DefaultIsOneDnnsFirstChoice) {
  const OneNode t = conv_node({1, 16, 32, 12, 3, 1, 1, true, {"relu"}});
  const std::string plain = run_on("cpu", t.graph, t.feeds).assignments.at(0).impl;
  EXPECT_EQ(plain.find('['), std::string::npos) << plain;
  const Env off("FRUGAL_CONV_IMPL", "off");
  EXPECT_EQ(run_on("cpu", t.graph, t.feeds).assignments.at(0).impl, plain);
}
