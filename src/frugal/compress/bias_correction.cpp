#include "frugal/compress/bias_correction.h"

#include <cmath>
#include <cstdio>
#include <set>

#include "frugal/core/error.h"

namespace frugal::compress {

ir::Graph correct_biases(const ir::Graph& graph, const std::map<std::string, Tensor>& dequantized,
                         const std::vector<std::vector<Tensor>>& batches,
                         const runtime::SessionOptions& base, std::vector<std::string>& notes) {
  if (batches.empty()) throw UserError("bias correction: no calibration batches given");
  // Each corrected node gets a twin reading the same float input with the quantized
  // weight; both outputs become graph outputs, so one run gives E[W x] and E[W~ x].
  ir::Graph probe = graph;
  struct Target {
    size_t node;
    std::string y, y_quant;
    int64_t channel_axis;
  };
  std::vector<Target> targets;
  std::set<std::string> outputs;
  for (const auto& o : probe.outputs) outputs.insert(o.name);
  const size_t count = graph.nodes.size();
  for (size_t i = 0; i < count; ++i) {
    const ir::Node& n = graph.nodes[i];
    auto it = dequantized.find(n.name);
    if (it == dequantized.end()) continue;
    if (n.op_type == "MatMul") {
      notes.push_back("bias correction: " + n.describe() + " skipped (MatMul has no bias input)");
      continue;
    }
    if (n.op_type == "Gemm" && n.has_input(2)) {
      const Tensor* b = graph.initializer(n.inputs[2]);
      if (!b || b->rank() != 1 || n.attr_float("beta", 1.0f) != 1.0f) {
        notes.push_back("bias correction: " + n.describe() +
                        " skipped (bias C not a constant vector)");
        continue;
      }
    }
    if (n.op_type == "Conv" && n.has_input(2) && !graph.initializer(n.inputs[2])) {
      notes.push_back("bias correction: " + n.describe() + " skipped (bias not constant)");
      continue;
    }
    ir::Node twin = n;
    twin.name = probe.unique_name(n.name + "_bias_probe");
    const std::string w = probe.unique_name(n.name + "_weight_fake_quant");
    probe.initializers[w] = it->second;
    twin.inputs[1] = w;
    twin.outputs = {probe.unique_name(n.outputs[0] + "_quant")};
    probe.nodes.push_back(twin);
    targets.push_back({i, n.outputs[0], twin.outputs[0], n.op_type == "Conv" ? 1 : -1});
    for (const auto& v : {n.outputs[0], twin.outputs[0]})
      if (outputs.insert(v).second)
        probe.outputs.push_back(ir::ValueInfo{v, DType::kUndefined, std::nullopt});
  }
  if (targets.empty()) return graph;
  runtime::SessionOptions opt = base;
  opt.backends = kernels::resolve_backends(opt.backends);
  std::erase_if(opt.backends,
                [](const std::string& b) { return kernels::backend_traits(b).reads_ranges; });
  if (opt.backends.empty()) opt.backends = {"ref"};
  opt.optimize = false;  // keep every probed value observable as it is
  runtime::Session session(probe, opt);
  std::map<std::string, size_t> out_index;
  for (size_t i = 0; i < session.outputs().size(); ++i) out_index[session.outputs()[i].name] = i;

  // Per-channel sums of y - y~ over all batches.
  std::vector<std::vector<double>> diff(targets.size());
  std::vector<int64_t> per_channel_count(targets.size(), 0);
  for (const auto& batch : batches) {
    const std::vector<Tensor> outs = session.run(batch);
    for (size_t t = 0; t < targets.size(); ++t) {
      const Tensor& y = outs[out_index.at(targets[t].y)];
      const Tensor& yq = outs[out_index.at(targets[t].y_quant)];
      const int64_t axis = targets[t].channel_axis < 0 ? y.rank() - 1 : targets[t].channel_axis;
      const int64_t channels = y.dim(axis);
      int64_t inner = 1;
      for (int64_t d = axis + 1; d < y.rank(); ++d) inner *= y.dim(d);
      const int64_t outer = y.numel() / (channels * inner);
      diff[t].resize(static_cast<size_t>(channels), 0.0);
      const float* a = y.data<float>();
      const float* b = yq.data<float>();
      for (int64_t o = 0; o < outer; ++o)
        for (int64_t c = 0; c < channels; ++c)
          for (int64_t i = 0; i < inner; ++i) {
            const int64_t k = (o * channels + c) * inner + i;
            diff[t][static_cast<size_t>(c)] +=
                static_cast<double>(a[k]) - static_cast<double>(b[k]);
          }
      per_channel_count[t] += outer * inner;
    }
  }

  ir::Graph out = graph;
  for (size_t t = 0; t < targets.size(); ++t) {
    ir::Node& n = out.nodes[targets[t].node];
    const int64_t channels = static_cast<int64_t>(diff[t].size());
    Tensor bias;
    if (n.has_input(2)) {
      bias = out.initializer(n.inputs[2])->clone();
    } else {
      bias = Tensor::from_vector<float>({channels},
                                        std::vector<float>(static_cast<size_t>(channels), 0.0f));
    }
    if (bias.numel() != channels) {
      notes.push_back("bias correction: " + n.describe() + " skipped (bias size " +
                      std::to_string(bias.numel()) + " for " + std::to_string(channels) +
                      " channels)");
      continue;
    }
    float* pb = bias.data<float>();
    double largest = 0;
    for (int64_t c = 0; c < channels; ++c) {
      const double shift =
          diff[t][static_cast<size_t>(c)] / static_cast<double>(per_channel_count[t]);
      pb[c] += static_cast<float>(shift);
      largest = std::max(largest, std::fabs(shift));
    }
    // A fresh initializer: the original bias may be shared, and the input graph is not ours.
    const std::string name = out.unique_name(n.name + "_bias_corrected");
    out.initializers[name] = bias;
    if (n.inputs.size() < 3) n.inputs.resize(3);
    n.inputs[2] = name;
    char line[256];
    std::snprintf(line, sizeof(line), "bias correction: %s, largest shift %.3g", n.name.c_str(),
                  largest);
    notes.push_back(line);
  }
  // Drop biases nothing reads any more.
  std::set<std::string> read;
  for (const auto& n : out.nodes)
    for (const auto& i : n.inputs) read.insert(i);
  for (auto it = out.initializers.begin(); it != out.initializers.end();)
    it = read.count(it->first) || graph.initializers.count(it->first) == 0
             ? std::next(it)
             : out.initializers.erase(it);
  return out;
}

}  // namespace frugal::compress
