// Unstructured, global and N:M pruning against plain reference checks written here: exact
// counts, the magnitude order, untouched layers, the input graph left unmodified, the
// metadata round trip through ONNX, the report's formulas, and the spec grammar's errors.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "frugal/compress/prune.h"
#include "frugal/compress/sparsity_report.h"
#include "frugal/core/rng.h"
#include "frugal/ir/onnx_io.h"
#include "frugal/zoo/zoo.h"

using namespace frugal;
using namespace frugal::compress;

namespace {

int64_t zeros(const Tensor& t) {
  int64_t z = 0;
  for (float v : t.span<float>()) z += v == 0.0f;
  return z;
}

std::map<std::string, Tensor> deep_copy(const ir::Graph& g) {
  std::map<std::string, Tensor> m;
  for (const auto& [k, v] : g.initializers) m[k] = v.clone();
  return m;
}

void expect_unchanged(const ir::Graph& g, const std::map<std::string, Tensor>& before) {
  ASSERT_EQ(g.initializers.size(), before.size());
  for (const auto& [k, v] : before) EXPECT_TRUE(g.initializers.at(k).equals(v)) << k;
}

// Every pruned weight of `after` is no larger than every kept one (per layer, or over all).
void expect_magnitude_order(const std::vector<const Tensor*>& orig,
                            const std::vector<const Tensor*>& pruned) {
  float max_pruned = 0, min_kept = INFINITY;
  for (size_t i = 0; i < orig.size(); ++i) {
    const auto o = orig[i]->span<float>();
    const auto p = pruned[i]->span<float>();
    for (size_t j = 0; j < o.size(); ++j) {
      if (p[j] == 0.0f)
        max_pruned = std::max(max_pruned, std::fabs(o[j]));
      else {
        EXPECT_EQ(p[j], o[j]);  // kept weights are not changed
        min_kept = std::min(min_kept, std::fabs(o[j]));
      }
    }
  }
  EXPECT_LE(max_pruned, min_kept);
}

}  // namespace

TEST(PruneSpec, Grammar) {
  auto s = PruneSpec::parse("0.9");
  EXPECT_EQ(s.kind, PruneSpec::Kind::kLayerwise);
  EXPECT_DOUBLE_EQ(s.sparsity, 0.9);
  s = PruneSpec::parse("global:0.75");
  EXPECT_EQ(s.kind, PruneSpec::Kind::kGlobal);
  EXPECT_DOUBLE_EQ(s.sparsity, 0.75);
  s = PruneSpec::parse("conv1=0.5, fc1=0.95,default=0.8");
  EXPECT_EQ(s.per_layer.size(), 2u);
  EXPECT_TRUE(s.has_default);
  EXPECT_DOUBLE_EQ(s.per_layer.at("fc1"), 0.95);
  s = PruneSpec::parse("conv1=0.5");
  EXPECT_FALSE(s.has_default);
  s = PruneSpec::parse("nm:2:4");
  EXPECT_EQ(s.kind, PruneSpec::Kind::kNM);
  EXPECT_EQ(s.n, 2);
  EXPECT_EQ(s.m, 4);
  s = PruneSpec::parse("channels:0.5:bn");
  EXPECT_EQ(s.kind, PruneSpec::Kind::kChannels);
  EXPECT_EQ(s.criterion, "bn");
  EXPECT_EQ(PruneSpec::parse("channels:0.25").criterion, "l1");
  EXPECT_EQ(PruneSpec::parse("keep").kind, PruneSpec::Kind::kKeep);
  s.add_excludes("first,last,fc*");
  EXPECT_EQ(s.exclude.size(), 3u);
  EXPECT_EQ(PruneSpec::parse(PruneSpec::parse("conv1=0.5,default=0.25").str()).str(),
            "conv1=0.5,default=0.25");
}

TEST(PruneSpec, BadSpecsNameTheProblem) {
  auto fails = [](const std::string& spec, const std::string& needle) {
    try {
      PruneSpec::parse(spec);
      ADD_FAILURE() << spec << " was accepted";
    } catch (const UserError& e) {
      EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
    }
  };
  fails("1", "outside [0, 1)");
  fails("1.5", "outside [0, 1)");
  fails("-0.1", "outside [0, 1)");
  fails("global:1.0", "outside [0, 1)");
  fails("abc", "not a number");
  fails("0.5x", "not a number");
  fails("conv1=2", "layer conv1");
  fails("conv1=0.5,conv1=0.6", "named twice");
  fails("nm:4:4", "N must be");
  fails("nm:0:4", "N must be");
  fails("nm:2", "nm:N:M");
  fails("nm:2:1", "M must be");
  fails("channels:0.5:l3", "criterion");
  fails("channels:1", "outside [0, 1)");
  fails("", "empty");
}

TEST(PruneSpec, UnknownLayersAndExcludes) {
  const ir::Graph g = zoo::build("lenet5", 1);
  const auto layers = prunable_layers(g);
  ASSERT_EQ(layers.size(), 5u);
  EXPECT_EQ(layers.front().name, "conv1");
  EXPECT_EQ(layers.back().name, "fc3");
  try {
    prune(g, PruneSpec::parse("conv9=0.5"));
    ADD_FAILURE();
  } catch (const UserError& e) {
    EXPECT_NE(std::string(e.what()).find("no prunable layer 'conv9'"), std::string::npos)
        << e.what();
    EXPECT_NE(std::string(e.what()).find("conv1, conv2, fc1"), std::string::npos) << e.what();
  }
  EXPECT_THROW(prune(g, PruneSpec::parse("relu1=0.5")), UserError);  // a layer without weights
  PruneSpec s = PruneSpec::parse("0.5");
  s.add_excludes("nothing*");
  EXPECT_THROW(prune(g, s), UserError);
  const auto ex = excluded_layers(layers, {"first", "fc?"});
  EXPECT_EQ(ex, (std::vector<bool>{true, false, true, true, true}));
  EXPECT_TRUE(glob_match("layer*.conv", "layer1.2.conv"));
  EXPECT_FALSE(glob_match("layer*.conv", "layer1.2.bn"));
  EXPECT_TRUE(glob_match("*", ""));
}

TEST(Prune, LayerwiseExactCountsAndMagnitudeOrder) {
  for (const std::string model : {"lenet5", "resnet8_fmnist"}) {
    const ir::Graph g = zoo::build(model, 3);
    const auto before = deep_copy(g);
    for (double s : {0.0, 0.5, 0.9, 0.95}) {
      const PruneOutcome o = prune(g, PruneSpec::parse(std::to_string(s)));
      expect_unchanged(g, before);
      for (const auto& l : prunable_layers(g)) {
        const Tensor& orig = *g.initializer(l.weight);
        const Tensor& p = *o.graph.initializer(l.weight);
        ASSERT_EQ(zeros(orig), 0) << l.name;
        EXPECT_EQ(zeros(p), std::llround(s * static_cast<double>(orig.numel())))
            << model << " " << l.name << " " << s;
        expect_magnitude_order({&orig}, {&p});
      }
      // Biases and BatchNormalization parameters are untouched.
      for (const auto& [k, v] : g.initializers) {
        bool weight = false;
        for (const auto& l : prunable_layers(g)) weight = weight || l.weight == k;
        if (!weight) {
          EXPECT_TRUE(o.graph.initializers.at(k).equals(v)) << k;
        }
      }
    }
  }
}

TEST(Prune, GlobalOneThreshold) {
  const ir::Graph g = zoo::build("lenet5", 4);
  PruneSpec s = PruneSpec::parse("global:0.8");
  s.add_excludes("last");
  const PruneOutcome o = prune(g, s);
  std::vector<const Tensor*> orig, pruned;
  int64_t total = 0, z = 0;
  for (const auto& l : prunable_layers(g)) {
    if (l.name == "fc3") {
      EXPECT_TRUE(o.graph.initializer(l.weight)->equals(*g.initializer(l.weight)));
      continue;
    }
    orig.push_back(g.initializer(l.weight));
    pruned.push_back(o.graph.initializer(l.weight));
    total += l.numel();
    z += zeros(*pruned.back());
  }
  EXPECT_EQ(z, std::llround(0.8 * static_cast<double>(total)));
  expect_magnitude_order(orig, pruned);  // one threshold across layers
  // Layers end up at different sparsities (fc1 has many small weights; conv1 few).
  const double s_conv1 =
      static_cast<double>(zeros(*pruned[0])) / static_cast<double>(pruned[0]->numel());
  const double s_fc1 =
      static_cast<double>(zeros(*pruned[2])) / static_cast<double>(pruned[2]->numel());
  EXPECT_NE(s_conv1, s_fc1);
}

TEST(Prune, GlobalTiesBrokenByPosition) {
  // All-equal magnitudes: exactly round(s * n) go, the first positions first.
  ir::Graph g = zoo::build("lenet5", 5);
  for (const auto& l : prunable_layers(g)) {
    Tensor t(DType::kF32, g.initializer(l.weight)->shape());
    for (float& v : t.span<float>()) v = 0.5f;
    g.initializers[l.weight] = t;
  }
  const PruneOutcome o = prune(g, PruneSpec::parse("global:0.3"));
  int64_t total = 0, z = 0;
  for (const auto& l : prunable_layers(g)) {
    total += l.numel();
    z += zeros(*o.graph.initializer(l.weight));
  }
  EXPECT_EQ(z, std::llround(0.3 * static_cast<double>(total)));
  EXPECT_EQ(zeros(*o.graph.initializer("conv1.weight")), 150);  // first layer fully first
}

TEST(Prune, PerLayerMapDefaultAndExcludes) {
  const ir::Graph g = zoo::build("lenet5", 6);
  PruneSpec s = PruneSpec::parse("conv2=0.5,fc1=0.95,default=0.25");
  s.add_excludes("first");
  const PruneOutcome o = prune(g, s);
  auto frac = [&](const std::string& w) {
    const Tensor& t = *o.graph.initializer(w);
    return static_cast<double>(zeros(t)) / static_cast<double>(t.numel());
  };
  EXPECT_EQ(frac("conv1.weight"), 0.0);
  EXPECT_NEAR(frac("conv2.weight"), 0.5, 1e-3);
  EXPECT_NEAR(frac("fc1.weight"), 0.95, 1e-3);
  EXPECT_NEAR(frac("fc2.weight"), 0.25, 1e-3);
  EXPECT_NEAR(frac("fc3.weight"), 0.25, 2e-3);
  const PruneOutcome only = prune(g, PruneSpec::parse("fc1=0.5"));  // no default: rest dense
  EXPECT_EQ(zeros(*only.graph.initializer("fc2.weight")), 0);
}

TEST(Prune, NMAlongInputChannels) {
  // Reference check written out per layout: groups of M input channels at a fixed output
  // and kernel position. Conv [O, C, kh, kw]; Gemm transB=1 [N, K]; MatMul / Gemm transB=0 [K, N].
  for (const std::string model : {"resnet8_fmnist", "lenet5"})
    for (auto [n, m] : {std::pair{2, 4}, std::pair{4, 8}, std::pair{1, 4}}) {
      const ir::Graph g = zoo::build(model, 7);
      const PruneOutcome o =
          prune(g, PruneSpec::parse("nm:" + std::to_string(n) + ":" + std::to_string(m)));
      for (const auto& l : prunable_layers(g)) {
        const Tensor& p = *o.graph.initializer(l.weight);
        const Tensor& orig = *g.initializer(l.weight);
        if (l.in_channels % m != 0) {
          EXPECT_TRUE(p.equals(orig)) << l.name;
          bool noted = false;
          for (const auto& note : o.notes)
            noted = noted || note.find("'" + l.name + "'") != std::string::npos;
          EXPECT_TRUE(noted) << l.name;
          continue;
        }
        EXPECT_TRUE(satisfies_nm(l, p, n, m)) << l.name;
        EXPECT_EQ(zeros(p), orig.numel() / m * (m - n)) << l.name;
        const float* d = p.data<float>();
        const float* od = orig.data<float>();
        const Shape& s = p.shape();
        if (l.op_type == "Conv") {
          const int64_t O = s[0], C = s[1], K = p.numel() / (O * C);
          for (int64_t o2 = 0; o2 < O; ++o2)
            for (int64_t k = 0; k < K; ++k)
              for (int64_t c0 = 0; c0 < C; c0 += m) {
                int nz = 0;
                float min_kept = INFINITY, max_pruned = 0;
                for (int64_t c = c0; c < c0 + m; ++c) {
                  const int64_t at = (o2 * C + c) * K + k;
                  nz += d[at] != 0.0f;
                  if (d[at] != 0.0f)
                    min_kept = std::min(min_kept, std::fabs(od[at]));
                  else
                    max_pruned = std::max(max_pruned, std::fabs(od[at]));
                }
                ASSERT_EQ(nz, n);
                ASSERT_LE(max_pruned, min_kept);
              }
        } else {
          // lenet5's Gemms are transB=1: [N, K], groups contiguous along K.
          ASSERT_FALSE(l.transposed);
          for (int64_t r = 0; r < s[0]; ++r)
            for (int64_t c0 = 0; c0 < s[1]; c0 += m) {
              int nz = 0;
              for (int64_t c = c0; c < c0 + m; ++c) nz += d[r * s[1] + c] != 0.0f;
              ASSERT_EQ(nz, n);
            }
        }
      }
    }
}

TEST(Prune, NMOnTransposedMatMulWeight) {
  // MatMul B [K, N]: the groups run down a column.
  ir::Graph g;
  g.opsets[""] = 17;
  g.inputs.push_back({"x", DType::kF32, std::vector<ir::Dim>{{2, ""}, {8, ""}}});
  Tensor w(DType::kF32, {8, 3});
  Philox rng(9, 1);
  for (int64_t i = 0; i < w.numel(); ++i) w.data<float>()[i] = rng.normal(static_cast<uint64_t>(i));
  g.initializers["w"] = w;
  ir::Node n;
  n.name = "mm";
  n.op_type = "MatMul";
  n.inputs = {"x", "w"};
  n.outputs = {"y"};
  g.nodes.push_back(n);
  g.outputs.push_back({"y", DType::kUndefined, std::nullopt});
  const auto layers = prunable_layers(g);
  ASSERT_EQ(layers.size(), 1u);
  EXPECT_TRUE(layers[0].transposed);
  EXPECT_EQ(layers[0].rows, 3);
  EXPECT_EQ(layers[0].cols, 8);
  const PruneOutcome nm = prune(g, PruneSpec::parse("nm:2:4"));
  const Tensor& p = *nm.graph.initializer("w");
  for (int64_t col = 0; col < 3; ++col)
    for (int64_t k0 = 0; k0 < 8; k0 += 4) {
      int nz = 0;
      for (int64_t k = k0; k < k0 + 4; ++k) nz += p.data<float>()[k * 3 + col] != 0.0f;
      EXPECT_EQ(nz, 2);
    }
  // 4:8 on the same 8 x 3 weight works; M = 16 does not divide K = 8: left dense, noted.
  const PruneOutcome o = prune(g, PruneSpec::parse("nm:4:16"));
  EXPECT_TRUE(o.graph.initializer("w")->equals(w));
  ASSERT_EQ(o.notes.size(), 1u);
  EXPECT_NE(o.notes[0].find("not a multiple of M=16"), std::string::npos) << o.notes[0];
}

TEST(Prune, MetadataRoundTripsThroughOnnx) {
  const ir::Graph g = zoo::build("lenet5", 8);
  PruneOutcome o = prune(g, PruneSpec::parse("0.75"));
  o = prune(o.graph, PruneSpec::parse("nm:2:4"));  // a second step is appended
  const auto path = std::filesystem::temp_directory_path() / "frugal_prune_meta_test.onnx";
  ir::save_onnx(o.graph, path.string());
  const ir::Graph back = ir::load_onnx(path.string());
  std::filesystem::remove(path);
  ASSERT_TRUE(back.metadata.count(kCompressMetadataKey));
  const auto j = nlohmann::json::parse(back.metadata.at(kCompressMetadataKey));
  ASSERT_EQ(j["steps"].size(), 2u);
  EXPECT_EQ(j["steps"][0]["prune"], "0.75");
  EXPECT_NEAR(j["steps"][0]["layers"]["fc1"]["sparsity"].get<double>(), 0.75, 1e-3);
  EXPECT_EQ(j["steps"][1]["layers"]["fc1"]["pattern"], "nm:2:4");
  for (const auto& l : prunable_layers(g))
    EXPECT_TRUE(back.initializer(l.weight)->equals(*o.graph.initializer(l.weight)));
}

TEST(SparsityReport, CountsBytesAndMacs) {
  const ir::Graph g = zoo::build("lenet5", 10);
  const PruneOutcome o = prune(g, PruneSpec::parse("0.9"));
  const SparsityReport r = sparsity_report(g, o.graph);
  ASSERT_EQ(r.layers.size(), 5u);
  const LayerSparsity& c1 = r.layers[0];
  EXPECT_EQ(c1.params, 150);
  EXPECT_EQ(c1.nonzeros, 15);
  EXPECT_EQ(c1.positions, 28 * 28);
  EXPECT_EQ(c1.macs_before, 117600);  // frugal info's figure for conv1
  EXPECT_EQ(c1.macs_after, 15 * 784);
  const LayerSparsity& f1 = r.layers[2];
  EXPECT_EQ(f1.params, 48000);
  EXPECT_EQ(f1.nonzeros, 4800);
  EXPECT_EQ(f1.dense_bytes, 192000);
  // CSR: 4 (rows + 1) + 8 nnz; the reported size is the smallest format, never above CSR.
  EXPECT_LE(f1.sparse_bytes, 4 * (120 + 1) + 8 * 4800);
  // Bitmap: 2 rows ceil(cols/16) + 4 (rows + 1) + 4 nnz = 6000 + 484 + 19200.
  EXPECT_LE(f1.sparse_bytes, 2 * 120 * 25 + 4 * 121 + 4 * 4800);
  EXPECT_EQ(f1.sparse_format, "bitmap");
  EXPECT_EQ(f1.sparse_bytes, 2 * 120 * 25 + 4 * 121 + 4 * 4800);
  EXPECT_EQ(f1.macs_after, 4800);
  int64_t macs = 0;
  for (const auto& l : r.layers) macs += l.macs_before;
  EXPECT_EQ(r.macs_before, macs);
  EXPECT_EQ(r.macs_before, 416520);  // frugal info: every MAC of lenet5 is in these layers
  // Unpruned: the best encoding is dense.
  const SparsityReport d = sparsity_report(g, g);
  for (const auto& l : d.layers) EXPECT_EQ(l.best_bytes, l.dense_bytes) << l.name;
  EXPECT_EQ(d.model_bytes_after, d.model_bytes_before);
  EXPECT_LT(r.model_bytes_after, r.model_bytes_before);
}
