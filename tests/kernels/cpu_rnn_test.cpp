// The cpu backend's LSTM, GRU and RNN against the reference over shapes, directions,
// layouts, initial states, biases, peepholes and linear_before_reset: frugal's own kernel
// (kernels/cpu/own_rnn.h, AVX-512) at 1 and 2 threads, also with sequence_lens, clip, every
// activation ONNX allows and input_forget; and oneDNN's recurrent primitives
// (FRUGAL_NO_OWN_RNN=1, and where the CPU lacks AVX-512), which decline what they cannot run
// with the reason.
#include <gtest/gtest.h>

#include <cstdlib>
#include <string>
#include <vector>

#include "cpu_testing.h"
#include "frugal/core/error.h"
#include "frugal/kernels/cpu/depthwise.h"
#include "frugal/kernels/cpu/threads.h"

using namespace frugal;
using namespace frugal::cpu_testing;

namespace {

struct Case {
  std::string op;
  int64_t seq, batch, input, hidden;
  std::string direction;
  int64_t layout;
  bool bias, initial, peephole, lbr;
  bool runtime_weights = false;  // W, R, B as graph inputs (ONNX's test cases do this)
};

int64_t gates_of(const std::string& op) {
  return op == "LSTM" ? 4 : op == "GRU" ? 3 : 1;
}

OneNode build(const Case& c, uint64_t seed, std::map<std::string, ir::Attribute> extra = {},
              std::vector<int32_t> lens = {}) {
  const int64_t dirs = c.direction == "bidirectional" ? 2 : 1, g = gates_of(c.op);
  const Shape x = c.layout == 0 ? Shape{c.seq, c.batch, c.input} : Shape{c.batch, c.seq, c.input};
  const Shape state =
      c.layout == 0 ? Shape{dirs, c.batch, c.hidden} : Shape{c.batch, dirs, c.hidden};
  auto weight = [&](std::string name, Tensor v) {
    return c.runtime_weights ? input(std::move(name), std::move(v))
                             : constant(std::move(name), std::move(v));
  };
  std::vector<Operand> in = {
      input("X", random_tensor(x, seed)),
      weight("W", random_tensor({dirs, g * c.hidden, c.input}, seed + 1, 0.5f)),
      weight("R", random_tensor({dirs, g * c.hidden, c.hidden}, seed + 2, 0.5f)),
      c.bias ? weight("B", random_tensor({dirs, 2 * g * c.hidden}, seed + 3)) : omitted(),
      lens.empty() ? omitted() : input("L", Tensor::from_vector<int32_t>({c.batch}, lens)),
      c.initial ? input("H0", random_tensor(state, seed + 4)) : omitted()};
  if (c.op == "LSTM") {
    in.push_back(c.initial ? input("C0", random_tensor(state, seed + 5)) : omitted());
    in.push_back(c.peephole ? weight("P", random_tensor({dirs, 3 * c.hidden}, seed + 6, 0.5f))
                            : omitted());
  }
  std::map<std::string, ir::Attribute> attrs = {{"hidden_size", attr(c.hidden)},
                                                {"direction", attr(c.direction)},
                                                {"layout", attr(c.layout)}};
  if (c.lbr) attrs["linear_before_reset"] = attr(int64_t{1});
  for (auto& [k, v] : extra) attrs[k] = v;
  return one_node(c.op, in, attrs, 14, c.op == "LSTM" ? 3 : 2);
}

bool own_kernel_missing() {
  return !kernels::cpu::dw_isa_available();
}

// oneDNN's recurrent primitives instead of the own kernel while it lives.
struct NoOwnRnn {
  NoOwnRnn() { setenv("FRUGAL_NO_OWN_RNN", "1", 1); }
  ~NoOwnRnn() { unsetenv("FRUGAL_NO_OWN_RNN"); }
};

// Sequence lengths over the batch: the full length, 0, then values in between.
std::vector<int32_t> varied_lens(int64_t batch, int64_t seq) {
  std::vector<int32_t> lens;
  for (int64_t n = 0; n < batch; ++n)
    lens.push_back(static_cast<int32_t>(n == 0 ? seq : n == 1 ? 0 : (n * 3) % (seq + 1)));
  return lens;
}

// The node on cpu at `threads` (arena poisoned, run twice) against ref; expects the own
// kernel and returns its impl.
std::string expect_own_kernel(const OneNode& t, int threads, double tol, const std::string& label) {
  const CpuAndRef r = run_cpu_and_ref(t.graph, t.feeds, threads);
  const runtime::NodeAssignment& a = r.cpu->assignments().at(0);
  EXPECT_EQ(a.backend, "cpu") << label << ": " << (a.declined.empty() ? "" : a.declined[0]);
  EXPECT_EQ(a.impl.rfind("loop:", 0), 0u) << label << ": impl " << a.impl;
  EXPECT_EQ(r.got.size(), r.want.size()) << label;
  for (size_t i = 0; i < r.got.size() && i < r.want.size(); ++i)
    EXPECT_LE(relative_error(r.got[i], r.want[i]), tol)
        << label << ", threads " << threads << ": output " << i << " differs from ref";
  return a.impl;
}

}  // namespace

TEST(CpuRnn, MatchesRefOverShapesDirectionsAndOptions) {
  const struct {
    int64_t seq, batch, input, hidden;
  } shapes[] = {{1, 1, 1, 1}, {5, 3, 7, 4}, {9, 2, 16, 32}};
  for (const bool own : {true, false}) {
    if (own && own_kernel_missing()) continue;  // the OwnKernel tests skip visibly
    const std::unique_ptr<NoOwnRnn> primitive = own ? nullptr : std::make_unique<NoOwnRnn>();
    uint64_t seed = 100;
    int cases = 0;
    for (const std::string op : {"LSTM", "GRU", "RNN"})
      for (const auto& s : shapes)
        for (const std::string dir : {"forward", "reverse", "bidirectional"})
          for (int64_t layout : {0, 1})
            for (int variant = 0; variant < 3; ++variant) {
              // variants 1 and 2: bias, initial states, peepholes (LSTM) / linear_before_reset
              // (GRU); variant 2 with W, R and B given at run time.
              const bool v = variant >= 1;
              const Case c{op, s.seq, s.batch,           s.input,          s.hidden,    dir, layout,
                           v,  v,     v && op == "LSTM", v && op == "GRU", variant == 2};
              const std::string label = std::string(own ? "own kernel: " : "oneDNN: ") + op + " " +
                                        dir + " layout " + std::to_string(layout) + " seq " +
                                        std::to_string(s.seq) + " hidden " +
                                        std::to_string(s.hidden) + (v ? " with options" : "") +
                                        (variant == 2 ? ", run-time weights" : "");
              expect_matches_ref(build(c, seed += 10), 1e-4, "cpu", label);
              ++cases;
            }
    EXPECT_EQ(cases, 162);
    // The switch took effect.
    const Case c{"LSTM", 2, 1, 3, 4, "forward", 0, false, false, false, false};
    const std::string impl =
        run_on("cpu", build(c, 1).graph, build(c, 1).feeds).assignments[0].impl;
    EXPECT_EQ(impl.rfind(own ? "loop:lstm" : "onednn:", 0), 0u) << impl;
  }
}

TEST(CpuRnn, VanillaActivationsRunOnCpu) {
  for (const std::string f : {"Relu", "Sigmoid", "Tanh"}) {
    const Case c{"RNN", 4, 2, 3, 5, "bidirectional", 0, true, true, false, false};
    expect_matches_ref(build(c, 7, {{"activations", attr(std::vector<std::string>{f, f})}}), 1e-4,
                       "cpu", f);
  }
}

TEST(CpuRnn, DeclinesWhatOneDnnCannotRunWithTheReason) {
  const NoOwnRnn primitive;
  const Case lstm{"LSTM", 3, 2, 4, 3, "forward", 0, true, true, false, false};
  const Case gru{"GRU", 3, 2, 4, 3, "forward", 0, true, true, false, false};
  const Case rnn{"RNN", 3, 2, 4, 3, "forward", 0, true, true, false, false};
  EXPECT_NE(cpu_decline_reason(build(lstm, 1, {{"clip", attr(0.5f)}})).find("clip"),
            std::string::npos);
  EXPECT_NE(cpu_decline_reason(build(gru, 1, {}, {1, 1})).find("sequence_lens"), std::string::npos);
  EXPECT_NE(
      cpu_decline_reason(build(lstm, 1, {{"input_forget", attr(int64_t{1})}})).find("input_forget"),
      std::string::npos);
  EXPECT_NE(
      cpu_decline_reason(
          build(gru, 1, {{"activations", attr(std::vector<std::string>{"HardSigmoid", "Tanh"})}}))
          .find("activations"),
      std::string::npos);
  EXPECT_NE(cpu_decline_reason(
                build(rnn, 1, {{"activations", attr(std::vector<std::string>{"Softsign"})}}))
                .find("Softsign"),
            std::string::npos);
  // Declined nodes still run (on ref) and give ref's results.
  const OneNode t = build(lstm, 1, {{"clip", attr(0.5f)}});
  const Ran ran = run_on("cpu", t.graph, t.feeds);
  EXPECT_EQ(ran.assignments.at(0).backend, "ref");
}

TEST(CpuRnn, LstmWithOnlyOneOfTheStates) {
  // oneDNN takes h and c both or neither: initial_h alone (c zeros), Y_h without Y_c; the
  // own kernel and the primitive.
  const Shape state = {1, 2, 3};
  for (const bool own : {true, false}) {
    const std::unique_ptr<NoOwnRnn> primitive = own ? nullptr : std::make_unique<NoOwnRnn>();
    const OneNode t = one_node(
        "LSTM",
        {input("X", random_tensor({4, 2, 5}, 1)), constant("W", random_tensor({1, 12, 5}, 2, 0.5f)),
         constant("R", random_tensor({1, 12, 3}, 3, 0.5f)), omitted(), omitted(),
         input("H0", random_tensor(state, 4))},
        {{"hidden_size", attr(int64_t{3})}}, 14, 2);
    expect_matches_ref(t, 1e-4, "cpu", "initial_h only, Y and Y_h");
    const OneNode c_only = one_node(
        "LSTM",
        {input("X", random_tensor({4, 2, 5}, 1)), constant("W", random_tensor({1, 12, 5}, 2, 0.5f)),
         constant("R", random_tensor({1, 12, 3}, 3, 0.5f)), omitted(), omitted(), omitted(),
         input("C0", random_tensor(state, 5))},
        {{"hidden_size", attr(int64_t{3})}}, 14, 1);
    expect_matches_ref(c_only, 1e-4, "cpu", "initial_c only, Y");
  }
}

// The own kernel over what it adds to the primitive (sequence_lens, clip, activations other
// than the defaults, per direction, input_forget) and over what changes its loops: hidden
// sizes that are not a multiple of 16 (masked last block), batches of more than one register
// tile of 4 rows, and at 2 threads the split by directions and by hidden blocks (a barrier
// per step).
TEST(CpuRnn, OwnKernelMatchesRefOverOptionsAtOneAndTwoThreads) {
  if (own_kernel_missing()) GTEST_SKIP() << "no AVX-512 on this CPU: the own kernel is not used";
  using S = std::vector<std::string>;
  using F = std::vector<float>;
  struct Kind {
    std::string op;
    bool lbr;
    S activations;  // variant 3's, direction 0 (direction 1 keeps the defaults)
    S defaults;
  };
  const Kind kinds[] = {
      {"LSTM", false, {"HardSigmoid", "ScaledTanh", "Softsign"}, {"Sigmoid", "Tanh", "Tanh"}},
      {"GRU", false, {"Sigmoid", "Elu"}, {"Sigmoid", "Tanh"}},
      {"GRU", true, {"HardSigmoid", "Softplus"}, {"Sigmoid", "Tanh"}},
      {"RNN", false, {"LeakyRelu"}, {"Tanh"}}};
  const struct {
    int64_t seq, batch, input, hidden;
  } shapes[] = {{6, 6, 10, 20}, {3, 1, 5, 33}, {5, 8, 12, 96}};
  uint64_t seed = 500;
  int cases = 0;
  for (const Kind& k : kinds)
    for (const auto& s : shapes)
      for (const std::string dir : {"forward", "reverse", "bidirectional"})
        for (int variant = 0; variant < 5; ++variant) {
          // 0: no bias, no initial states; 1: bias, initial states, peepholes; 2: 1 with
          // sequence_lens; 3: bias, clip, other activations, input_forget (LSTM); 4: W, R, B
          // (and P) given at run time, with sequence_lens.
          const bool options = variant >= 1 && variant != 3;
          const int64_t layout = (variant + cases) % 2;
          const Case c{k.op,  s.seq,       s.batch,      s.input, s.hidden,
                       dir,   layout,      variant >= 1, options, options && k.op == "LSTM",
                       k.lbr, variant == 4};
          std::map<std::string, ir::Attribute> extra;
          if (variant == 3) {
            S acts = k.activations;
            if (dir == "bidirectional")
              acts.insert(acts.end(), k.defaults.begin(), k.defaults.end());
            extra = {{"clip", attr(0.7f)},
                     {"activations", attr(acts)},
                     {"activation_alpha", ir::Attribute{.value = F{0.3f, 0.9f}}},
                     {"activation_beta", ir::Attribute{.value = F{0.4f, 1.1f}}}};
            if (k.op == "LSTM") extra["input_forget"] = attr(int64_t{1});
          }
          const std::vector<int32_t> lens =
              variant == 2 || variant == 4 ? varied_lens(s.batch, s.seq) : std::vector<int32_t>{};
          const OneNode t = build(c, seed += 10, extra, lens);
          const std::string label = k.op + (k.lbr ? " lbr" : "") + " " + dir + " layout " +
                                    std::to_string(layout) + " hidden " + std::to_string(s.hidden) +
                                    " batch " + std::to_string(s.batch) + " variant " +
                                    std::to_string(variant);
          for (int threads : {1, 2}) {
            const std::string impl = expect_own_kernel(t, threads, 1e-4, label);
            // hidden 96, batch 8: a step's product is worth a second thread (where idle
            // workers spin: kernels/cpu/threads.h); two directions take a thread each.
            const bool split = threads == 2 && (dir == "bidirectional" ||
                                                (s.hidden == 96 && kernels::cpu::awake_us() > 0));
            EXPECT_EQ(impl.find("threads:") != std::string::npos, split) << label << ": " << impl;
          }
          ++cases;
        }
  EXPECT_EQ(cases, 4 * 3 * 3 * 5);
}

// Every activation ONNX allows in recurrent cells, with its alpha and beta, in the own
// kernel's vector form (an RNN's single activation, a different one per direction).
TEST(CpuRnn, OwnKernelRunsEveryActivation) {
  if (own_kernel_missing()) GTEST_SKIP() << "no AVX-512 on this CPU: the own kernel is not used";
  const std::vector<std::string> names = {
      "Sigmoid",    "Tanh",        "Relu", "Affine",   "LeakyRelu", "ThresholdedRelu",
      "ScaledTanh", "HardSigmoid", "Elu",  "Softsign", "Softplus"};
  for (size_t i = 0; i < names.size(); ++i) {
    const std::string& f = names[i];
    const std::string& other = names[(i + 1) % names.size()];
    const Case c{"RNN", 5, 3, 4, 18, "bidirectional", 0, true, true, false, false};
    const OneNode t =
        build(c, 40 + i,
              {{"activations", attr(std::vector<std::string>{f, other})},
               {"activation_alpha", ir::Attribute{.value = std::vector<float>{0.6f, 0.2f}}},
               {"activation_beta", ir::Attribute{.value = std::vector<float>{0.3f, 0.8f}}}});
    expect_own_kernel(t, 1, 1e-4, f + " then " + other);
  }
}

TEST(CpuRnn, OwnKernelRejectsSequenceLengthsOutOfRange) {
  if (own_kernel_missing()) GTEST_SKIP() << "no AVX-512 on this CPU: the own kernel is not used";
  const Case c{"GRU", 3, 2, 4, 5, "forward", 0, true, true, false, false};
  const OneNode t = build(c, 1, {}, {2, 4});
  runtime::SessionOptions opt;
  opt.backends = {"cpu", "ref"};
  runtime::Session s(t.graph, opt);
  ASSERT_EQ(s.assignments().at(0).backend, "cpu");
  try {
    s.run(t.feeds);
    ADD_FAILURE() << "sequence_lens 4 > seq 3 ran";
  } catch (const UserError& e) {
    EXPECT_NE(
        std::string(e.what()).find("node 'node' (GRU): sequence_lens holds 4, outside [0, 3]"),
        std::string::npos)
        << e.what();
  }
}
