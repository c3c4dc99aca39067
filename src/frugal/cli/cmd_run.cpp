// frugal run MODEL: run once and print the outputs' shapes and top-k (or write them).
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <numeric>

#include "frugal/cli/command.h"
#include "frugal/cli/common.h"
#include "frugal/cli/engine_options.h"
#include "frugal/cli/tensor_io.h"
#include "frugal/core/rng.h"
#include "frugal/ir/onnx_io.h"
#include "frugal/runtime/session.h"

namespace frugal::cli {
namespace {

struct RunArgs {
  std::string model;
  std::vector<std::string> inputs;  // per graph input, in order: FILE.npy or random[:seed]
  EngineArgs engine;
  std::vector<std::string> output_files;
  int top = 5;
  bool json = false;
};

struct TopK {
  std::vector<std::vector<std::pair<int64_t, double>>> rows;  // per leading index
};

// Top-k along the last axis of each row of a float output.
TopK top_k(const Tensor& t, int k) {
  TopK r;
  if (t.rank() == 0 || !dtype_is_float(t.dtype()) || t.numel() == 0) return r;
  int64_t cols = t.dim(-1), rows = t.numel() / cols;
  auto v = t.to_double();
  for (int64_t i = 0; i < rows; ++i) {
    std::vector<int64_t> idx(static_cast<size_t>(cols));
    std::iota(idx.begin(), idx.end(), 0);
    const double* row = v.data() + i * cols;
    int64_t kk = std::min<int64_t>(k, cols);
    std::partial_sort(idx.begin(), idx.begin() + kk, idx.end(), [&](int64_t a, int64_t b) {
      return row[a] > row[b] || (row[a] == row[b] && a < b);
    });
    std::vector<std::pair<int64_t, double>> top;
    for (int64_t j = 0; j < kk; ++j) top.push_back({idx[j], row[idx[j]]});
    r.rows.push_back(std::move(top));
  }
  return r;
}

void run_model(const RunArgs& a) {
  if (a.top < 0) throw UserError("--top: must be 0 or more");
  runtime::SessionOptions opt = session_options(a.engine, a.model);
  ir::Graph g = ir::load_onnx(a.model);
  runtime::Session session(g, opt);
  const auto& ports = session.inputs();
  if (a.inputs.size() > ports.size())
    throw UserError("--input: given " + std::to_string(a.inputs.size()) +
                    " inputs, the model has " + std::to_string(ports.size()));
  std::vector<Tensor> inputs;
  std::vector<std::string> sources;
  for (size_t i = 0; i < ports.size(); ++i) {
    std::string spec = i < a.inputs.size() ? a.inputs[i] : "random";
    inputs.push_back(make_input(spec, ports[i], &g));
    sources.push_back(spec);
  }
  auto t0 = std::chrono::steady_clock::now();
  auto outs = session.run(inputs);
  double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  if (!a.output_files.empty()) {
    if (a.output_files.size() > outs.size())
      throw UserError("--output: given " + std::to_string(a.output_files.size()) +
                      " files, the model has " + std::to_string(outs.size()) + " outputs");
    for (size_t i = 0; i < a.output_files.size(); ++i) write_tensor_file(a.output_files[i], outs[i]);
  }
  std::map<std::string, int> backend_nodes;
  for (const auto& as : session.assignments()) backend_nodes[as.backend]++;
  if (a.json) {
    nlohmann::json j;
    j["model"] = a.model;
    j["time_ms"] = ms;
    j["time_method"] = "measured, one cold run (wall clock, includes first-run allocation)";
    for (const auto& [b, n] : backend_nodes) j["backends"][b] = n;
    for (size_t i = 0; i < ports.size(); ++i)
      j["inputs"].push_back({{"name", ports[i].name}, {"shape", ports[i].shape},
                             {"source", sources[i]}});
    for (size_t i = 0; i < outs.size(); ++i) {
      nlohmann::json oj{{"name", session.outputs()[i].name},
                        {"dtype", dtype_name(outs[i].dtype())},
                        {"shape", outs[i].shape()}};
      for (const auto& row : top_k(outs[i], a.top).rows) {
        nlohmann::json rj = nlohmann::json::array();
        for (auto [idx, v] : row) rj.push_back({{"index", idx}, {"value", v}});
        oj["top"].push_back(rj);
      }
      j["outputs"].push_back(oj);
    }
    print_json(j);
    return;
  }
  std::string bk;
  for (const auto& [b, n] : backend_nodes) bk += (bk.empty() ? "" : ", ") + b + ": " + std::to_string(n) + " nodes";
  std::printf("model   %s\nbackend %s (%d thread%s)\n", a.model.c_str(), bk.c_str(), a.engine.threads,
              a.engine.threads == 1 ? "" : "s");
  for (size_t i = 0; i < ports.size(); ++i)
    std::printf("input   %s %s <- %s\n", ports[i].name.c_str(), shape_str(ports[i].shape).c_str(),
                sources[i].c_str());
  std::printf("time    %.2f ms (measured, one cold run; use `frugal bench` for latency)\n", ms);
  for (size_t i = 0; i < outs.size(); ++i) {
    std::printf("output  %s: %s %s\n", session.outputs()[i].name.c_str(),
                std::string(dtype_name(outs[i].dtype())).c_str(), shape_str(outs[i].shape()).c_str());
    auto tk = top_k(outs[i], a.top);
    for (size_t r = 0; r < tk.rows.size() && r < 8; ++r) {
      std::printf("  top-%d%s:", a.top, tk.rows.size() > 1 ? (" [" + std::to_string(r) + "]").c_str() : "");
      for (auto [idx, v] : tk.rows[r]) std::printf("  %lld (%.4g)", static_cast<long long>(idx), v);
      std::printf("\n");
    }
    if (tk.rows.size() > 8) std::printf("  ... %zu more rows\n", tk.rows.size() - 8);
  }
}

void setup(CLI::App& app) {
  auto a = std::make_shared<RunArgs>();
  auto* sub = app.add_subcommand("run", "Run a model once and print its outputs' top-k");
  sub->footer("Examples:\n  frugal run resnet18.onnx\n  frugal run lenet5.onnx --input digit.npy --top 3\n"
              "  frugal run model.onnx --input random:7 --output out.npy --json");
  sub->add_option("model", a->model, "ONNX model file")->required();
  sub->add_option("--input", a->inputs,
                  "per model input, in order: FILE.npy, or random[:SEED] (default random:0)");
  add_engine_options(sub, a->engine);
  sub->add_option("--top", a->top, "print the K largest values of each output row (default 5)");
  sub->add_option("--output", a->output_files, "write outputs, in order, to FILE.npy");
  sub->add_flag("--json", a->json, "machine-readable output");
  sub->callback([a] { run_model(*a); });
}

}  // namespace

FRUGAL_REGISTER_COMMAND(run, 20, setup);

}  // namespace frugal::cli
