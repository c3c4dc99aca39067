// Size-only Deep Compression ratios of AlexNet and VGG-16 at Han et al.'s per-layer
// densities and weight bits (ICLR 2016, Tables 4 and 5): each layer's weights drawn
// N(0, 1) at its real shape (biases included), pruned by magnitude to the paper's density,
// clustered by k-means at the paper's bits (linear init), then encoded by frugal's encoder
// (compress/weight_encoding.h) with relative indices at the paper's width and at the
// smallest width per tensor. Random weights: only the storage is reproduced, not accuracy.
//   ./bench/bench_han_sizes            (prints a markdown table per network)
#include <cstdio>
#include <string>
#include <vector>

#include "frugal/compress/cluster.h"
#include "frugal/compress/prune.h"
#include "frugal/compress/weight_encoding.h"
#include "frugal/core/rng.h"

using namespace frugal;

namespace {

struct LayerSpec {
  std::string name;
  Shape weight;    // Conv [O, I, kh, kw] or Gemm [N, K] (transB)
  double density;  // weights kept (Han et al.)
  int bits;        // shared-weight bits (Han et al.)
};

struct Network {
  std::string name;
  int index_bits;      // Han et al.'s relative-index width
  double paper_ratio;  // their compression rate
  std::vector<LayerSpec> layers;
};

ir::Graph random_graph(const Network& net) {
  ir::Graph g;
  uint64_t stream = 0;
  for (const auto& l : net.layers) {
    Tensor w(DType::kF32, l.weight);
    const Philox rng(1, ++stream);
    for (int64_t i = 0; i < w.numel(); ++i)
      w.data<float>()[i] = rng.normal(static_cast<uint64_t>(i));
    Tensor b(DType::kF32, {l.weight[0]});
    for (int64_t i = 0; i < b.numel(); ++i)
      b.data<float>()[i] = 0.1f * rng.normal(static_cast<uint64_t>(w.numel() + i));
    g.initializers[l.name + ".weight"] = w;
    g.initializers[l.name + ".bias"] = b;
    ir::Node n{l.name,   l.weight.size() == 4 ? "Conv" : "Gemm",
               "",       {"x", l.name + ".weight", l.name + ".bias"},
               {l.name}, {}};
    if (n.op_type == "Gemm") n.attrs["transB"] = ir::Attribute{int64_t{1}};
    g.nodes.push_back(n);
  }
  return g;
}

void run(const Network& net) {
  ir::Graph g = random_graph(net);
  std::string prune_spec, cluster_spec;
  for (const auto& l : net.layers) {
    prune_spec += (prune_spec.empty() ? "" : ",") + l.name + "=" + std::to_string(1.0 - l.density);
    cluster_spec += (cluster_spec.empty() ? "" : ",") + l.name + "=" + std::to_string(l.bits);
  }
  g = compress::prune(g, compress::PruneSpec::parse(prune_spec, "prune")).graph;
  g = compress::cluster(g, compress::parse_cluster_spec(cluster_spec)).graph;
  const compress::EncodedSize paper = compress::encoded_size(g, {true, net.index_bits});
  const compress::EncodedSize best = compress::encoded_size(g, {true, 0});
  std::printf("\n%s (index bits %d as the paper; Han et al. report %.0fx)\n\n", net.name.c_str(),
              net.index_bits, net.paper_ratio);
  std::printf(
      "| layer | weights | density | bits | float32 B | encoded B | ratio | encoding "
      "|\n|---|---|---|---|---|---|---|---|\n");
  for (const auto& l : net.layers)
    for (const auto& t : paper.tensors)
      if (t.tensor == l.name + ".weight")
        std::printf("| %s | %lld | %.0f%% | %d | %lld | %lld | %.1fx | %s |\n", l.name.c_str(),
                    static_cast<long long>(t.elements), 100 * l.density, l.bits,
                    static_cast<long long>(t.raw_bytes), static_cast<long long>(t.plan.bytes()),
                    static_cast<double>(t.raw_bytes) / static_cast<double>(t.plan.bytes()),
                    t.plan.describe().c_str());
  std::printf(
      "| total (biases included) | | | | %lld | %lld | **%.1fx** (%.1fx without Huffman) | |\n",
      static_cast<long long>(paper.raw_bytes), static_cast<long long>(paper.encoded_bytes),
      static_cast<double>(paper.raw_bytes) / static_cast<double>(paper.encoded_bytes),
      static_cast<double>(paper.raw_bytes) / static_cast<double>(paper.fixed_bytes));
  std::printf("\nwith the smallest index width per tensor: %lld B, %.1fx\n",
              static_cast<long long>(best.encoded_bytes),
              static_cast<double>(best.raw_bytes) / static_cast<double>(best.encoded_bytes));
}

}  // namespace

int main() {
  // AlexNet (Caffe, two groups in conv2/4/5): Han et al. Table 4.
  run({"AlexNet",
       4,
       35,
       {{"conv1", {96, 3, 11, 11}, 0.84, 8},
        {"conv2", {256, 48, 5, 5}, 0.38, 8},
        {"conv3", {384, 256, 3, 3}, 0.35, 8},
        {"conv4", {384, 192, 3, 3}, 0.37, 8},
        {"conv5", {256, 192, 3, 3}, 0.37, 8},
        {"fc6", {4096, 9216}, 0.09, 5},
        {"fc7", {4096, 4096}, 0.09, 5},
        {"fc8", {1000, 4096}, 0.25, 5}}});
  // VGG-16: Han et al. Table 5.
  run({"VGG-16",
       5,
       49,
       {{"conv1_1", {64, 3, 3, 3}, 0.58, 8},
        {"conv1_2", {64, 64, 3, 3}, 0.22, 8},
        {"conv2_1", {128, 64, 3, 3}, 0.34, 8},
        {"conv2_2", {128, 128, 3, 3}, 0.36, 8},
        {"conv3_1", {256, 128, 3, 3}, 0.53, 8},
        {"conv3_2", {256, 256, 3, 3}, 0.24, 8},
        {"conv3_3", {256, 256, 3, 3}, 0.42, 8},
        {"conv4_1", {512, 256, 3, 3}, 0.32, 8},
        {"conv4_2", {512, 512, 3, 3}, 0.27, 8},
        {"conv4_3", {512, 512, 3, 3}, 0.34, 8},
        {"conv5_1", {512, 512, 3, 3}, 0.35, 8},
        {"conv5_2", {512, 512, 3, 3}, 0.29, 8},
        {"conv5_3", {512, 512, 3, 3}, 0.36, 8},
        {"fc6", {4096, 25088}, 0.04, 5},
        {"fc7", {4096, 4096}, 0.04, 5},
        {"fc8", {1000, 4096}, 0.23, 5}}});
  return 0;
}
