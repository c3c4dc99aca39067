// Agreement with ONNX Runtime (onnxruntime-node, bench/peers; installed by
// scripts/setup.sh): LSTM, GRU and RNN models saved by frugal run in ORT and in frugal
// (cpu and ref) on the same input, and the outputs Y agree. Includes options only ref
// runs (clip, peepholes, activations with alpha/beta), which pins how frugal reads
// activation_alpha/beta to ORT's reading. Skipped, with the reason, where node or the
// peer is absent.
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

#include "cpu_testing.h"
#include "frugal/core/npy.h"
#include "frugal/ir/onnx_io.h"
#include "frugal/kernels/cpu/depthwise.h"

using namespace frugal;
using namespace frugal::cpu_testing;

namespace {

const std::string kPeer = std::string(FRUGAL_SOURCE_DIR) + "/bench/peers";

std::string ort_missing() {
  if (std::system("command -v node >/dev/null 2>&1") != 0) return "node not found";
  if (!std::filesystem::exists(kPeer + "/node_modules/onnxruntime-node"))
    return "bench/peers/node_modules/onnxruntime-node absent (scripts/setup.sh installs it)";
  return "";
}

// ORT's first output for `x`, through bench/peers/ort_run.js.
Tensor run_ort(const ir::Graph& g, const Tensor& x, const std::string& tag) {
  const std::filesystem::path dir =
      std::filesystem::temp_directory_path() / ("frugal_ort_rnn_" + tag);
  std::filesystem::create_directories(dir);
  ir::save_onnx(g, (dir / "model.onnx").string());
  write_npy((dir / "x.npy").string(), x);
  const std::string cmd = "node " + kPeer + "/ort_run.js --model " + (dir / "model.onnx").string() +
                          " --input " + (dir / "x.npy").string() + " --iters 1 --warmup 0 2>&1";
  std::string out;
  FILE* p = popen(cmd.c_str(), "r");
  if (!p) return Tensor();
  char buf[4096];
  while (size_t n = fread(buf, 1, sizeof buf, p)) out.append(buf, n);
  pclose(p);
  std::filesystem::remove_all(dir);
  const auto j = nlohmann::json::parse(out, nullptr, false);
  if (j.is_discarded() || !j.contains("output")) {
    ADD_FAILURE() << tag << ": ORT said: " << out;
    return Tensor();
  }
  Shape shape = j["output"]["shape"].get<std::vector<int64_t>>();
  return Tensor::from_vector<float>(shape, j["output"]["data"].get<std::vector<float>>());
}

struct Model {
  std::string tag, op;
  std::map<std::string, ir::Attribute> attrs;
  bool peephole = false;
  bool runs_on_cpu = true;  // also where the own kernel is missing (oneDNN's primitive)
  // cpu (float32) against ORT (float32): gru_acts' Affine update gate leaves [0, 1], its
  // state grows to 1e8 within the 6 steps, and two float32 computations drift apart by
  // 3e-5 of it (ref, in double, stays within 1e-5 of ORT).
  double cpu_tol = 1e-5;
};

OneNode build(const Model& m, uint64_t seed) {
  const int64_t seq = 6, batch = 2, in_size = 5, hidden = 8;
  const bool bidi = m.attrs.count("direction") &&
                    std::get<std::string>(m.attrs.at("direction").value) == "bidirectional";
  const int64_t dirs = bidi ? 2 : 1, g = m.op == "LSTM" ? 4 : m.op == "GRU" ? 3 : 1;
  std::vector<Operand> in = {
      input("X", random_tensor({seq, batch, in_size}, seed)),
      constant("W", random_tensor({dirs, g * hidden, in_size}, seed + 1, 0.5f)),
      constant("R", random_tensor({dirs, g * hidden, hidden}, seed + 2, 0.5f)),
      constant("B", random_tensor({dirs, 2 * g * hidden}, seed + 3, 0.5f)),
      omitted(),
      constant("H0", random_tensor({dirs, batch, hidden}, seed + 4))};
  if (m.op == "LSTM") {
    in.push_back(constant("C0", random_tensor({dirs, batch, hidden}, seed + 5)));
    in.push_back(m.peephole ? constant("P", random_tensor({dirs, 3 * hidden}, seed + 6, 0.5f))
                            : omitted());
  }
  auto attrs = m.attrs;
  attrs["hidden_size"] = attr(hidden);
  OneNode t = one_node(m.op, in, attrs, 14, 1);
  t.graph.outputs[0].dtype = DType::kF32;  // ORT requires the output's type
  return t;
}

}  // namespace

TEST(OrtRnn, LstmGruRnnAgreeWithOnnxRuntime) {
  if (const std::string why = ort_missing(); !why.empty()) GTEST_SKIP() << why;
  using S = std::vector<std::string>;
  using F = std::vector<float>;
  const Model models[] = {
      {"lstm", "LSTM", {}},
      {"lstm_bidi", "LSTM", {{"direction", attr(std::string("bidirectional"))}}},
      {"lstm_peephole", "LSTM", {{"direction", attr(std::string("reverse"))}}, true},
      {"lstm_clip_acts",
       "LSTM",
       {{"clip", attr(0.8f)},
        {"activations", attr(S{"HardSigmoid", "ScaledTanh", "LeakyRelu"})},
        {"activation_alpha", ir::Attribute{.value = F{0.3f, 1.2f, 0.05f}}},
        {"activation_beta", ir::Attribute{.value = F{0.45f, 0.7f}}}},
       false,
       false},
      {"gru", "GRU", {}},
      {"gru_lbr_bidi",
       "GRU",
       {{"linear_before_reset", attr(int64_t{1})},
        {"direction", attr(std::string("bidirectional"))}}},
      {"gru_acts",
       "GRU",
       {{"activations", attr(S{"Affine", "Elu"})},
        {"activation_alpha", ir::Attribute{.value = F{0.4f, 0.9f}}},
        {"activation_beta", ir::Attribute{.value = F{0.1f}}}},
       false,
       false,
       1e-4},
      {"rnn_relu", "RNN", {{"activations", attr(S{"Relu"})}}},
  };
  uint64_t seed = 300;
  for (const Model& m : models) {
    const OneNode t = build(m, seed += 10);
    const Tensor ort = run_ort(t.graph, t.feeds[0], m.tag);
    if (!ort.defined()) continue;
    const Ran ref = run_on("ref", t.graph, t.feeds);
    EXPECT_LE(relative_error(ref.outputs[0], ort), 1e-5) << m.tag << ": ref vs ORT";
    const Ran cpu = run_on("cpu", t.graph, t.feeds);
    const bool on_cpu = m.runs_on_cpu || kernels::cpu::dw_isa_available();  // own kernel: all
    EXPECT_EQ(cpu.assignments.at(0).backend, on_cpu ? "cpu" : "ref") << m.tag;
    EXPECT_LE(relative_error(cpu.outputs[0], ort), m.cpu_tol) << m.tag << ": cpu vs ORT";
  }
}
