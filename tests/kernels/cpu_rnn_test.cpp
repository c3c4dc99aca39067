// The cpu backend's LSTM, GRU and RNN (oneDNN's recurrent primitives, weights reordered
// from ONNX's gate order) against the reference over shapes, directions, layouts, initial
// states, biases, peepholes and linear_before_reset; what oneDNN cannot run is declined
// with the reason.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "cpu_testing.h"

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
              bool lens = false) {
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
      lens ? input("L", Tensor::from_vector<int32_t>({c.batch}, std::vector<int32_t>(c.batch, 1)))
           : omitted(),
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

}  // namespace

TEST(CpuRnn, MatchesRefOverShapesDirectionsAndOptions) {
  const struct {
    int64_t seq, batch, input, hidden;
  } shapes[] = {{1, 1, 1, 1}, {5, 3, 7, 4}, {9, 2, 16, 32}};
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
            const Case c{op,     s.seq, s.batch, s.input,           s.hidden,         dir,
                         layout, v,     v,       v && op == "LSTM", v && op == "GRU", variant == 2};
            const std::string label = op + " " + dir + " layout " + std::to_string(layout) +
                                      " seq " + std::to_string(s.seq) + " hidden " +
                                      std::to_string(s.hidden) + (v ? " with options" : "") +
                                      (variant == 2 ? ", run-time weights" : "");
            expect_matches_ref(build(c, seed += 10), 1e-4, "cpu", label);
            ++cases;
          }
  EXPECT_EQ(cases, 162);
}

TEST(CpuRnn, VanillaActivationsRunOnCpu) {
  for (const std::string f : {"Relu", "Sigmoid", "Tanh"}) {
    const Case c{"RNN", 4, 2, 3, 5, "bidirectional", 0, true, true, false, false};
    expect_matches_ref(build(c, 7, {{"activations", attr(std::vector<std::string>{f, f})}}), 1e-4,
                       "cpu", f);
  }
}

TEST(CpuRnn, DeclinesWhatOneDnnCannotRunWithTheReason) {
  const Case lstm{"LSTM", 3, 2, 4, 3, "forward", 0, true, true, false, false};
  const Case gru{"GRU", 3, 2, 4, 3, "forward", 0, true, true, false, false};
  const Case rnn{"RNN", 3, 2, 4, 3, "forward", 0, true, true, false, false};
  EXPECT_NE(cpu_decline_reason(build(lstm, 1, {{"clip", attr(0.5f)}})).find("clip"),
            std::string::npos);
  EXPECT_NE(cpu_decline_reason(build(gru, 1, {}, true)).find("sequence_lens"), std::string::npos);
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
  // oneDNN takes h and c both or neither: initial_h alone (c zeros), Y_h without Y_c.
  const Shape state = {1, 2, 3};
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
