// Dense vs sparse latency on the cpu backend, the sessions run alternately in one process
// so that load on a shared machine hits them alike. Weights are magnitude-pruned here (the
// smallest |w| of every Conv/Gemm/MatMul weight set to zero, per layer), and the dense
// baseline runs the same pruned weights with sparse kernels off.
//
//   bench_sparse_latency models [RUNS] [MODEL...]   lenet300_100, alexnet_fc, resnet18,
//                                                   mobilenet_v2 at 90 %: 1/2 threads,
//                                                   batch 1/8, dense vs --sparse auto
//   bench_sparse_latency curve [RUNS]               FC models at 50/75/90/95/99 %
//   bench_sparse_latency calibrate [RUNS]           one-layer grid, every format forced:
//                                                   ns per stored unit (the chooser's model)
//
// Build: ninja -C build bench_sparse_latency
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "../bench_util.h"
#include "frugal/core/rng.h"
#include "frugal/kernels/cpu/sparse_format.h"
#include "frugal/runtime/session.h"
#include "frugal/zoo/builder.h"
#include "frugal/zoo/zoo.h"

using namespace frugal;

namespace {

using Clock = std::chrono::steady_clock;

using bench::normal_input;
using bench::quantile;

// AlexNet's classifier (Krizhevsky et al. 2012, torchvision's layout): 9216-4096-4096-1000.
ir::Graph alexnet_fc() {
  zoo::GraphBuilder b("alexnet_fc", 5);
  std::string x = b.add_input("input", {1, 9216});
  x = b.add_linear("fc6", x, 4096);
  x = b.add_relu("relu6", x);
  x = b.add_linear("fc7", x, 4096);
  x = b.add_relu("relu7", x);
  x = b.add_linear("fc8", x, 1000);
  return b.finish(x);
}

ir::Graph model(const std::string& name) {
  return name == "alexnet_fc" ? alexnet_fc() : zoo::build(name, 3);
}

// Zeroes the fraction `s` of smallest-magnitude entries of every Conv/Gemm/MatMul weight.
void magnitude_prune(ir::Graph& g, double s) {
  for (const auto& n : g.nodes) {
    if (n.op_type != "Conv" && n.op_type != "Gemm" && n.op_type != "MatMul") continue;
    auto it = g.initializers.find(n.inputs.at(1));
    if (it == g.initializers.end()) continue;
    Tensor& w = it->second;
    std::vector<float> mags;
    for (float v : w.span<float>()) mags.push_back(std::fabs(v));
    const size_t cut = static_cast<size_t>(s * static_cast<double>(mags.size()));
    if (cut == 0) continue;
    std::nth_element(mags.begin(), mags.begin() + (cut - 1), mags.end());
    const float threshold = mags[cut - 1];
    size_t zeroed = 0;
    for (float& v : w.span<float>())
      if (std::fabs(v) <= threshold && zeroed < cut) {
        v = 0.0f;
        ++zeroed;
      }
  }
}

struct Timing {
  double median, p10, p90;
};

// Runs the sessions alternately; per session its timing.
std::vector<Timing> alternate(std::vector<std::unique_ptr<runtime::Session>>& sessions,
                              const Tensor& x, int runs) {
  std::vector<std::vector<double>> ms(sessions.size());
  for (int r = -2; r < runs; ++r)
    for (size_t i = 0; i < sessions.size(); ++i) {
      const auto t0 = Clock::now();
      sessions[i]->run({x});
      const double t = std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
      if (r >= 0) ms[i].push_back(t);
    }
  std::vector<Timing> out;
  for (auto& v : ms) out.push_back({quantile(v, 0.5), quantile(v, 0.1), quantile(v, 0.9)});
  return out;
}

runtime::SessionOptions options(int threads, int64_t batch, const std::string& sparse) {
  runtime::SessionOptions o;
  o.backends = {"cpu", "ref"};
  o.threads = threads;
  o.infer.batch = batch;
  o.backend_config.sparse = sparse;
  return o;
}

// dense vs auto (and force) for one model at sparsity s.
void compare(const std::string& name, double s, int threads, int64_t batch, int runs,
             bool with_force) {
  ir::Graph g = model(name);
  magnitude_prune(g, s);
  std::vector<std::string> modes{"off", "auto"};
  if (with_force) modes.push_back("force");
  std::vector<std::unique_ptr<runtime::Session>> sessions;
  for (const auto& m : modes)
    sessions.push_back(std::make_unique<runtime::Session>(g, options(threads, batch, m)));
  const Tensor x = normal_input(sessions[0]->inputs()[0].shape, 7);
  const std::vector<Timing> t = alternate(sessions, x, runs);
  for (size_t i = 0; i < modes.size(); ++i) {
    int sparse_nodes = 0;
    for (const auto& a : sessions[i]->assignments())
      sparse_nodes += a.impl.rfind("sparse:", 0) == 0;
    std::printf(
        "%-13s s=%.2f threads=%d batch=%-2lld %-5s median %9.3f ms  p10 %9.3f  p90 %9.3f  "
        "dense/this %5.2fx  sparse nodes %d\n",
        name.c_str(), s, threads, static_cast<long long>(batch), modes[i].c_str(), t[i].median,
        t[i].p10, t[i].p90, t[0].median / t[i].median, sparse_nodes);
  }
  std::fflush(stdout);
}

// One Gemm layer (transB, N x K weights) or Conv layer, timed dense and with each format.
void calibrate_layer(const std::string& label, const ir::Graph& g, int64_t batch, int runs) {
  std::vector<std::string> modes{"off", "force:csr", "force:bitmap", "force:bcsr1x16",
                                 "force:bcsr4x16"};
  std::vector<std::unique_ptr<runtime::Session>> sessions;
  for (const auto& m : modes)
    sessions.push_back(std::make_unique<runtime::Session>(g, options(1, batch, m)));
  const Tensor x = normal_input(sessions[0]->inputs()[0].shape, 9);
  const std::vector<Timing> t = alternate(sessions, x, runs);
  std::printf("%-34s", label.c_str());
  for (size_t i = 0; i < modes.size(); ++i)
    std::printf(" %s %8.3f", i == 0 ? "dense" : modes[i].substr(6).c_str(), t[i].median);
  std::printf("  | ratios");
  for (size_t i = 1; i < modes.size(); ++i) std::printf(" %.2f", t[i].median / t[0].median);
  std::printf("\n");
  std::fflush(stdout);
}

ir::Graph fc_layer(int64_t k, int64_t n, double s) {
  zoo::GraphBuilder b("fc", 1);
  std::string x = b.add_input("input", {1, k});
  x = b.add_linear("fc", x, n);
  ir::Graph g = b.finish(x);
  magnitude_prune(g, s);
  return g;
}

ir::Graph conv_layer(int64_t c, int64_t m, int64_t hw, int64_t kernel, double s) {
  zoo::GraphBuilder b("conv", 1);
  std::string x = b.add_input("input", {1, c, hw, hw});
  x = b.add_conv("conv", x, m, {.kernel = kernel, .pad = kernel / 2, .bias = true});
  ir::Graph g = b.finish(x);
  magnitude_prune(g, s);
  return g;
}

}  // namespace

int main(int argc, char** argv) {
  const std::string what = argc > 1 ? argv[1] : "models";
  const int runs = argc > 2 ? std::atoi(argv[2]) : 15;
  std::vector<std::string> names;
  for (int i = 3; i < argc; ++i) names.push_back(argv[i]);

  if (what == "models") {
    if (names.empty()) names = {"lenet300_100", "alexnet_fc", "resnet18", "mobilenet_v2"};
    for (const auto& name : names)
      for (int threads : {1, 2})
        for (int64_t batch : {1, 8}) compare(name, 0.9, threads, batch, runs, true);
  } else if (what == "curve") {
    if (names.empty()) names = {"lenet300_100", "alexnet_fc"};
    for (const auto& name : names)
      for (int64_t batch : {1, 8})
        for (double s : {0.5, 0.75, 0.9, 0.95, 0.99}) compare(name, s, 1, batch, runs, false);
  } else if (what == "calibrate") {
    for (double s : {0.5, 0.75, 0.9, 0.95, 0.99}) {
      char tag[32];
      std::snprintf(tag, sizeof tag, " s=%.2f", s);
      for (auto [k, n] : {std::pair<int64_t, int64_t>{784, 300}, {4096, 4096}, {9216, 4096}})
        for (int64_t batch : {1, 8})
          calibrate_layer("fc " + std::to_string(k) + "x" + std::to_string(n) + " b" +
                              std::to_string(batch) + tag,
                          fc_layer(k, n, s), batch, runs);
      for (auto [c, hw, kernel] : {std::tuple<int64_t, int64_t, int64_t>{64, 56, 3},
                                   {256, 14, 3},
                                   {128, 28, 1},
                                   {512, 7, 3}})
        calibrate_layer("conv c" + std::to_string(c) + " " + std::to_string(hw) + "x" +
                            std::to_string(hw) + " k" + std::to_string(kernel) + tag,
                        conv_layer(c, c, hw, kernel, s), 1, runs);
    }
  } else {
    std::fprintf(stderr, "usage: bench_sparse_latency models|curve|calibrate [RUNS] [MODEL...]\n");
    return 1;
  }
  return 0;
}
