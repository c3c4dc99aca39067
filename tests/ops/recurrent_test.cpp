// RNN, GRU and LSTM reference kernels: one-unit cases against the cell equations written
// out here as scalars (every activation, clip, peepholes, input_forget,
// linear_before_reset), and over random shapes the properties that tie directions,
// sequence_lens and layouts together. ONNX's own cases run in the conformance test.
#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "frugal/core/error.h"
#include "frugal/ops/op.h"

using namespace frugal;

namespace {

using Attrs = std::map<std::string, ir::Attribute>;

Tensor random_tensor(Shape shape, std::mt19937& gen) {
  std::uniform_real_distribution<float> dist(-1.f, 1.f);
  Tensor t(DType::kF32, std::move(shape));
  for (auto& e : t.span<float>()) e = dist(gen);
  return t;
}

Tensor scalars(Shape shape, std::vector<float> v) {
  return Tensor::from_vector<float>(std::move(shape), v);
}

ir::Node rnn_node(const std::string& op, std::vector<std::string> inputs, Attrs attrs,
                  size_t outputs) {
  std::vector<std::string> outs = {"Y", "Y_h", "Y_c"};
  outs.resize(outputs);
  return ir::Node{.name = "cell1",
                  .op_type = op,
                  .inputs = std::move(inputs),
                  .outputs = outs,
                  .attrs = std::move(attrs)};
}

double sigmoid(double x) {
  return 1 / (1 + std::exp(-x));
}

// One unit, one input feature, a sequence of three steps, batch 1, no bias.
const std::vector<float> kX = {0.5f, -1.0f, 2.0f};

}  // namespace

TEST(Rnn, EveryActivationMatchesItsFormula) {
  struct Case {
    const char* name;
    float alpha, beta;
    double (*f)(double, double, double);
  };
  const Case cases[] = {
      {"Tanh", 0, 0, [](double x, double, double) { return std::tanh(x); }},
      {"Sigmoid", 0, 0, [](double x, double, double) { return sigmoid(x); }},
      {"Relu", 0, 0, [](double x, double, double) { return x > 0 ? x : 0; }},
      {"Affine", 0.5f, 0.25f, [](double x, double a, double b) { return a * x + b; }},
      {"LeakyRelu", 0.1f, 0, [](double x, double a, double) { return x >= 0 ? x : a * x; }},
      {"ThresholdedRelu", 0.7f, 0, [](double x, double a, double) { return x >= a ? x : 0; }},
      {"ScaledTanh", 1.5f, 0.5f, [](double x, double a, double b) { return a * std::tanh(b * x); }},
      {"HardSigmoid", 0.3f, 0.4f,
       [](double x, double a, double b) { return std::min(1.0, std::max(0.0, a * x + b)); }},
      {"Elu", 0.8f, 0,
       [](double x, double a, double) { return x >= 0 ? x : a * (std::exp(x) - 1); }},
      {"Softsign", 0, 0, [](double x, double, double) { return x / (1 + std::abs(x)); }},
      {"Softplus", 0, 0, [](double x, double, double) { return std::log(1 + std::exp(x)); }},
  };
  const float w = 0.9f, r = -0.6f;
  for (const Case& c : cases) {
    Attrs attrs = {{"hidden_size", {int64_t{1}}},
                   {"activations", {std::vector<std::string>{c.name}}},
                   {"activation_alpha", {std::vector<float>{c.alpha}}},
                   {"activation_beta", {std::vector<float>{c.beta}}}};
    auto out =
        ops::evaluate(rnn_node("RNN", {"X", "W", "R"}, attrs, 2), 14,
                      {scalars({3, 1, 1}, kX), scalars({1, 1, 1}, {w}), scalars({1, 1, 1}, {r})});
    double h = 0;
    for (size_t t = 0; t < 3; ++t) {
      h = c.f(w * kX[t] + r * h, c.alpha, c.beta);
      EXPECT_NEAR(out[0].data<float>()[t], h, 1e-6) << c.name << " step " << t;
    }
    EXPECT_NEAR(out[1].data<float>()[0], h, 1e-6) << c.name;
  }
}

TEST(Gru, LinearBeforeResetAndClipMatchTheEquations) {
  // z, r, h weights and biases of one unit.
  const float wz = 0.3f, wr = -0.5f, wh = 0.8f, rz = 0.2f, rr = 0.6f, rh = -0.7f;
  const std::vector<float> bias = {0.1f, -0.2f, 0.3f, 0.05f, 0.15f, -0.25f};
  for (int lbr : {0, 1}) {
    for (float clip : {0.0f, 0.4f}) {
      Attrs attrs = {{"hidden_size", {int64_t{1}}}, {"linear_before_reset", {int64_t{lbr}}}};
      if (clip > 0) attrs["clip"] = {clip};
      auto out = ops::evaluate(rnn_node("GRU", {"X", "W", "R", "B"}, attrs, 2), 14,
                               {scalars({3, 1, 1}, kX), scalars({1, 3, 1}, {wz, wr, wh}),
                                scalars({1, 3, 1}, {rz, rr, rh}), scalars({1, 6}, bias)});
      auto cl = [&](double x) { return clip > 0 ? std::clamp(x, -double(clip), double(clip)) : x; };
      double h = 0;
      for (size_t t = 0; t < 3; ++t) {
        const double x = kX[t];
        const double z = sigmoid(cl(wz * x + rz * h + bias[0] + bias[3]));
        const double r = sigmoid(cl(wr * x + rr * h + bias[1] + bias[4]));
        const double pre = lbr ? wh * x + bias[2] + r * (rh * h + bias[5])
                               : wh * x + rh * (r * h) + bias[5] + bias[2];
        h = (1 - z) * std::tanh(cl(pre)) + z * h;
        EXPECT_NEAR(out[0].data<float>()[t], h, 1e-6) << "lbr " << lbr << " clip " << clip;
      }
    }
  }
}

TEST(Lstm, PeepholesInputForgetAndInitialStatesMatchTheEquations) {
  // Gates i, o, f, c of one unit; peepholes i, o, f.
  const std::vector<float> w = {0.4f, -0.3f, 0.6f, 0.9f}, r = {0.2f, 0.5f, -0.4f, 0.7f};
  const std::vector<float> p = {0.3f, -0.2f, 0.5f};
  const float h0 = 0.25f, c0 = -0.5f;
  for (int coupled : {0, 1}) {
    Attrs attrs = {{"hidden_size", {int64_t{1}}}, {"input_forget", {int64_t{coupled}}}};
    auto out = ops::evaluate(
        rnn_node("LSTM", {"X", "W", "R", "", "", "h0", "c0", "P"}, attrs, 3), 14,
        {scalars({3, 1, 1}, kX), scalars({1, 4, 1}, w), scalars({1, 4, 1}, r), Tensor(), Tensor(),
         scalars({1, 1, 1}, {h0}), scalars({1, 1, 1}, {c0}), scalars({1, 3}, p)});
    double h = h0, c = c0;
    for (size_t t = 0; t < 3; ++t) {
      const double x = kX[t];
      const double i = sigmoid(w[0] * x + r[0] * h + p[0] * c);
      const double f = coupled ? 1 - i : sigmoid(w[2] * x + r[2] * h + p[2] * c);
      c = f * c + i * std::tanh(w[3] * x + r[3] * h);
      const double o = sigmoid(w[1] * x + r[1] * h + p[1] * c);
      h = o * std::tanh(c);
      EXPECT_NEAR(out[0].data<float>()[t], h, 1e-6) << "input_forget " << coupled;
    }
    EXPECT_NEAR(out[1].data<float>()[0], h, 1e-6);
    EXPECT_NEAR(out[2].data<float>()[0], c, 1e-6);
  }
}

// Random weights of a cell with `dirs` directions.
struct Weights {
  Tensor w, r, b;
};
Weights random_weights(int64_t gates, int64_t dirs, int64_t input, int64_t hidden,
                       std::mt19937& gen) {
  return {random_tensor({dirs, gates * hidden, input}, gen),
          random_tensor({dirs, gates * hidden, hidden}, gen),
          random_tensor({dirs, 2 * gates * hidden}, gen)};
}
// Direction `d` of a bidirectional tensor as a one-direction tensor.
Tensor direction_slice(const Tensor& t, int64_t d) {
  Shape s = t.shape();
  const int64_t per = t.numel() / s[0];
  s[0] = 1;
  std::vector<float> v(t.data<float>() + d * per, t.data<float>() + (d + 1) * per);
  return Tensor::from_vector<float>(s, v);
}
int64_t gates_of(const std::string& op) {
  return op == "LSTM" ? 4 : op == "GRU" ? 3 : 1;
}

TEST(Recurrent, BidirectionalIsForwardAndReverseAndLengthsCutEachRow) {
  std::mt19937 gen(7);
  for (const std::string op : {"RNN", "GRU", "LSTM"}) {
    const int64_t seq = 4, batch = 3, input = 5, hidden = 3, g = gates_of(op);
    const size_t n_out = op == "LSTM" ? 3 : 2;
    const Tensor x = random_tensor({seq, batch, input}, gen);
    const Weights wt = random_weights(g, 2, input, hidden, gen);
    const Tensor lens = Tensor::from_vector<int32_t>({batch}, {4, 2, 0});
    auto run = [&](const std::string& dir, const Tensor& xs, const Weights& ws, const Tensor& l) {
      Attrs attrs = {{"hidden_size", {hidden}}, {"direction", {dir}}};
      return ops::evaluate(rnn_node(op, {"X", "W", "R", "B", "L"}, attrs, n_out), 14,
                           {xs, ws.w, ws.r, ws.b, l});
    };
    const auto both = run("bidirectional", x, wt, lens);
    for (int64_t d = 0; d < 2; ++d) {
      const Weights one = {direction_slice(wt.w, d), direction_slice(wt.r, d),
                           direction_slice(wt.b, d)};
      const auto single = run(d == 0 ? "forward" : "reverse", x, one, lens);
      for (int64_t t = 0; t < seq; ++t)
        for (int64_t b = 0; b < batch; ++b)
          for (int64_t k = 0; k < hidden; ++k) {
            const float got = both[0].data<float>()[((t * 2 + d) * batch + b) * hidden + k];
            EXPECT_EQ(got, single[0].data<float>()[(t * batch + b) * hidden + k]) << op;
            if (t >= lens.data<int32_t>()[b]) {
              EXPECT_EQ(got, 0.0f) << op << " past the length";
            }
          }
      for (size_t o = 1; o < n_out; ++o)
        for (int64_t i = 0; i < batch * hidden; ++i)
          EXPECT_EQ(both[o].data<float>()[d * batch * hidden + i], single[o].data<float>()[i]);
      // Row 1 (length 2) equals running its first two steps alone.
      std::vector<float> row;
      for (int64_t t = 0; t < 2; ++t)
        for (int64_t j = 0; j < input; ++j)
          row.push_back(x.data<float>()[(t * batch + 1) * input + j]);
      const auto cut = run(d == 0 ? "forward" : "reverse", scalars({2, 1, input}, row), one,
                           Tensor::from_vector<int32_t>({1}, {2}));
      for (int64_t k = 0; k < hidden; ++k)
        EXPECT_NEAR(single[1].data<float>()[1 * hidden + k], cut[1].data<float>()[k], 1e-6) << op;
    }
  }
}

TEST(Recurrent, LayoutOneIsLayoutZeroTransposed) {
  std::mt19937 gen(11);
  for (const std::string op : {"RNN", "GRU", "LSTM"}) {
    const int64_t seq = 3, batch = 2, input = 4, hidden = 2, g = gates_of(op);
    const size_t n_out = op == "LSTM" ? 3 : 2;
    const Weights wt = random_weights(g, 2, input, hidden, gen);
    const Tensor x0 = random_tensor({seq, batch, input}, gen);
    const Tensor h0 = random_tensor({2, batch, hidden}, gen);
    Tensor x1(DType::kF32, {batch, seq, input}), h1(DType::kF32, {batch, 2, hidden});
    for (int64_t t = 0; t < seq; ++t)
      for (int64_t b = 0; b < batch; ++b)
        for (int64_t j = 0; j < input; ++j)
          x1.data<float>()[(b * seq + t) * input + j] =
              x0.data<float>()[(t * batch + b) * input + j];
    for (int64_t d = 0; d < 2; ++d)
      for (int64_t b = 0; b < batch; ++b)
        for (int64_t k = 0; k < hidden; ++k)
          h1.data<float>()[(b * 2 + d) * hidden + k] =
              h0.data<float>()[(d * batch + b) * hidden + k];
    auto run = [&](int64_t layout, const Tensor& x, const Tensor& h) {
      Attrs attrs = {{"hidden_size", {hidden}},
                     {"direction", {std::string("bidirectional")}},
                     {"layout", {layout}}};
      return ops::evaluate(rnn_node(op, {"X", "W", "R", "B", "", "h0"}, attrs, n_out), 14,
                           {x, wt.w, wt.r, wt.b, Tensor(), h});
    };
    const auto a = run(0, x0, h0), b1 = run(1, x1, h1);
    ASSERT_EQ(b1[0].shape(), (Shape{batch, seq, 2, hidden}));
    ASSERT_EQ(b1[1].shape(), (Shape{batch, 2, hidden}));
    for (int64_t t = 0; t < seq; ++t)
      for (int64_t d = 0; d < 2; ++d)
        for (int64_t b = 0; b < batch; ++b)
          for (int64_t k = 0; k < hidden; ++k)
            EXPECT_EQ(a[0].data<float>()[((t * 2 + d) * batch + b) * hidden + k],
                      b1[0].data<float>()[((b * seq + t) * 2 + d) * hidden + k])
                << op;
  }
}

TEST(Recurrent, InvalidModelsFailNamingTheNode) {
  const Tensor x = scalars({3, 1, 1}, kX), w = scalars({1, 1, 1}, {1}), r = scalars({1, 1, 1}, {1});
  auto expect_fails = [&](const Attrs& attrs, std::vector<Tensor> in, const std::string& part) {
    std::vector<std::string> names = {"X", "W", "R", "B", "L"};
    names.resize(in.size());
    try {
      ops::evaluate(rnn_node("RNN", names, attrs, 2), 14, in);
      FAIL() << "accepted: " << part;
    } catch (const UserError& e) {
      const std::string msg = e.what();
      EXPECT_NE(msg.find("node 'cell1' (RNN)"), std::string::npos) << msg;
      EXPECT_NE(msg.find(part), std::string::npos) << msg;
    }
  };
  expect_fails({{"activations", {std::vector<std::string>{"Gelu"}}}}, {x, w, r}, "'Gelu'");
  expect_fails({{"direction", {std::string("sideways")}}}, {x, w, r}, "sideways");
  expect_fails({{"hidden_size", {int64_t{2}}}}, {x, w, r}, "hidden_size 2");
  expect_fails({}, {x, scalars({1, 1, 2}, {1, 1}), r}, "W has shape");
  expect_fails({}, {x, w, r, Tensor(), Tensor::from_vector<int32_t>({1}, {5})}, "sequence_lens");
}
