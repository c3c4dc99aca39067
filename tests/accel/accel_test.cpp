// The accelerator model: access counts against hand-derived counts, the mapper against a
// brute-force search over every loop order, sparse storage sizes, and bad input.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <functional>

#include "frugal/accel/estimate.h"
#include "frugal/core/error.h"
#include "frugal/ops/cost.h"
#include "frugal/zoo/zoo.h"

namespace frugal::accel {
namespace {

Architecture test_arch(int rows, int cols) {
  Architecture a;
  a.name = "test";
  a.pe_rows = rows;
  a.pe_cols = cols;
  a.rf_bytes = {64, 64, 64};
  a.glb_bytes = 1 << 20;
  a.sparse = SparseMode::kNone;
  return a;
}

Layer layer_of(Dims bounds, const std::string& name = "l") {
  Layer l;
  l.node = name;
  l.op = "Conv";
  l.shape.bounds = bounds;
  const int64_t rows = bounds[kM] * bounds[kG], cols = bounds[kC] * bounds[kR] * bounds[kS];
  l.weights.rows = rows;
  l.weights.cols = cols;
  l.weights.params = l.weights.nonzeros = rows * cols;
  return l;
}

Mapping mapping_of(const Layer& l) {
  Mapping m = smallest_mapping(l);
  m.factors[kAtDram].fill(1);
  return m;
}

EvalContext context(const Architecture& a, const Layer& l, Dataflow d,
                    const std::string& fmt = "") {
  return {&a, &l, d, price(a, numeric::parse_format_spec(fmt)), dataflow_rules(d)};
}

// Gemm 1x2x3 on a 3x2 weight-stationary array, one MAC per PE: every word moves once.
TEST(AccelCounts, WeightStationaryOneMacPerPe) {
  const Architecture a = test_arch(3, 2);
  const Layer l = layer_of({1, 2, 3, 1, 1, 1, 1, 1});
  Mapping m = mapping_of(l);
  m.factors[kAtRows][kC] = 3;
  m.factors[kAtCols][kM] = 2;
  const Cost c = evaluate(context(a, l, Dataflow::kWeightStationary), m);
  ASSERT_TRUE(c.valid) << c.why_invalid;
  EXPECT_DOUBLE_EQ(c.words[kWeights][kDram], 6);  // each weight once
  EXPECT_DOUBLE_EQ(c.words[kInputs][kDram], 3);
  EXPECT_DOUBLE_EQ(c.words[kPsums][kDram], 2);      // each output written once
  EXPECT_DOUBLE_EQ(c.words[kWeights][kNoc], 6);     // one weight per PE
  EXPECT_DOUBLE_EQ(c.words[kInputs][kNoc], 6);      // each input to its 2 PEs
  EXPECT_DOUBLE_EQ(c.words[kInputs][kGlb], 3 + 3);  // multicast: 3 reads (+3 fills from DRAM)
  EXPECT_DOUBLE_EQ(c.words[kPsums][kGlb], 2 + 2);   // reduced along the column: 2 writes
  EXPECT_DOUBLE_EQ(c.words[kWeights][kRf], 6 + 6);  // 6 fills, 6 MAC reads
  EXPECT_DOUBLE_EQ(c.compute_cycles, 1);
  EXPECT_DOUBLE_EQ(c.macs, 6);
}

// 1-D convolution P4 R3 on one PE. Weight stationary (no psum RF): each psum leaves after
// every MAC and comes back for all but the first of its 3 taps. Output stationary (psum RF
// of 4 words): each output leaves once, and now each MAC fetches its weight.
TEST(AccelCounts, PsumTrafficWithAndWithoutPsumRegisterFile) {
  const Architecture a = test_arch(1, 1);
  const Layer l = layer_of({1, 1, 1, 4, 1, 3, 1, 1});
  Mapping m = mapping_of(l);
  m.factors[kAtRf][kP] = 4;
  m.factors[kAtRf][kR] = 3;
  m.order[kOrderRf] = class_order(kWeights);  // P innermost
  Cost c = evaluate(context(a, l, Dataflow::kWeightStationary), m);
  ASSERT_TRUE(c.valid) << c.why_invalid;
  EXPECT_DOUBLE_EQ(c.words[kWeights][kNoc], 3);  // the 3 weights, once
  EXPECT_DOUBLE_EQ(c.words[kInputs][kNoc], 12);  // one input per MAC
  EXPECT_DOUBLE_EQ(c.words[kPsums][kNoc], 12 + 8);
  EXPECT_DOUBLE_EQ(c.words[kInputs][kDram], 6);  // input row (4 - 1) + 3
  EXPECT_DOUBLE_EQ(c.words[kWeights][kRf], 3 + 12);
  m.order[kOrderRf] = class_order(kPsums);  // R innermost
  c = evaluate(context(a, l, Dataflow::kOutputStationary), m);
  ASSERT_TRUE(c.valid) << c.why_invalid;
  EXPECT_DOUBLE_EQ(c.words[kPsums][kNoc], 4);
  EXPECT_DOUBLE_EQ(c.words[kPsums][kDram], 4);
  EXPECT_DOUBLE_EQ(c.words[kPsums][kRf], 2 * 12 + 4);
  EXPECT_DOUBLE_EQ(c.words[kWeights][kNoc], 12);
  EXPECT_DOUBLE_EQ(c.words[kInputs][kNoc], 12);
}

// Output stationary, 2x2 outputs on a 2x2 array, C2 R2 S2 inside each PE: every psum is
// written once, every weight is multicast to all four PEs.
TEST(AccelCounts, OutputStationaryMulticastsWeights) {
  const Architecture a = test_arch(2, 2);
  const Layer l = layer_of({1, 1, 2, 2, 2, 2, 2, 1});
  Mapping m = mapping_of(l);
  m.factors[kAtRows][kP] = 2;
  m.factors[kAtCols][kQ] = 2;
  m.factors[kAtRf][kC] = 2;
  m.factors[kAtRf][kR] = 2;
  m.factors[kAtRf][kS] = 2;
  for (auto& o : m.order) o = class_order(kPsums);
  const Cost c = evaluate(context(a, l, Dataflow::kOutputStationary), m);
  ASSERT_TRUE(c.valid) << c.why_invalid;
  EXPECT_DOUBLE_EQ(c.words[kPsums][kNoc], 4);
  EXPECT_DOUBLE_EQ(c.words[kPsums][kRf], 2 * 32 + 4);
  EXPECT_DOUBLE_EQ(c.words[kWeights][kNoc], 32);         // 8 MACs per PE, a weight each
  EXPECT_DOUBLE_EQ(c.words[kWeights][kGlb], 8 + 8);      // 8 reads multicast + 8 fills
  EXPECT_DOUBLE_EQ(c.words[kInputs][kDram], 2 * 3 * 3);  // C2 x 3x3 input window
  EXPECT_DOUBLE_EQ(c.compute_cycles, 8);
}

// Brute force: every spatial factor, every RF/GLB/DRAM divisor split, every permutation of
// each level's loops. The mapper's exhaustive search (three orders per level) must find the
// same optimum.
double brute_force(const EvalContext& ctx, const MapperOptions& opt) {
  const Objective obj = opt.objective;
  const double min_pes = min_pes_used(ctx, opt);
  const Dims& b = ctx.layer->shape.bounds;
  double best = INFINITY;
  Mapping m = mapping_of(*ctx.layer);
  std::function<void(int)> dims;
  std::function<void(int)> orders = [&](int level) {
    if (level == 3) {
      double pes = 1;
      for (int d = 0; d < kDims; ++d) pes *= double(m.factors[kAtRows][d] * m.factors[kAtCols][d]);
      if (pes < min_pes) return;
      const Cost c = evaluate(ctx, m);
      if (c.valid) best = std::min(best, objective_value(c, obj));
      return;
    }
    static const int place_of[] = {kAtRf, kAtGlb, kAtDram};
    std::vector<int> active;
    for (int d = 0; d < kDims; ++d)
      if (m.factors[place_of[level]][d] > 1) active.push_back(d);
    do {
      auto& o = m.order[level];
      int i = 0;
      for (int d : active) o[i++] = d;
      for (int d = 0; d < kDims; ++d)
        if (std::find(active.begin(), active.end(), d) == active.end()) o[i++] = d;
      orders(level + 1);
    } while (std::next_permutation(active.begin(), active.end()));
  };
  dims = [&](int d) {
    if (d == kDims) return orders(0);
    for (int64_t r = 1; r <= std::min<int64_t>(b[d], ctx.arch->pe_rows); ++r)
      for (int64_t c = 1; c <= std::min<int64_t>(b[d], ctx.arch->pe_cols); ++c) {
        if ((r > 1 && !ctx.rules.at_rows[d]) || (c > 1 && !ctx.rules.at_cols[d])) continue;
        const int64_t rest = (b[d] + r * c - 1) / (r * c);
        for (int64_t rf = 1; rf <= rest; ++rf) {
          if (rest % rf || (rf > 1 && !ctx.rules.at_rf[d])) continue;
          for (int64_t g = 1; g <= rest / rf; ++g) {
            if ((rest / rf) % g) continue;
            m.factors[kAtRows][d] = r;
            m.factors[kAtCols][d] = c;
            m.factors[kAtRf][d] = rf;
            m.factors[kAtGlb][d] = g;
            m.factors[kAtDram][d] = rest / rf / g;
            dims(d + 1);
          }
        }
      }
  };
  dims(0);
  return best;
}

TEST(AccelMapper, MatchesBruteForceOnSmallLayers) {
  Architecture a = test_arch(2, 3);
  a.rf_bytes = {8, 8, 8};  // two fp32 words each: capacity shapes the optimum
  a.glb_bytes = 64;
  const std::vector<Dims> shapes = {
      {2, 4, 3, 1, 1, 1, 1, 1},  // Gemm
      {1, 2, 2, 3, 1, 2, 1, 1},  // 1-D conv
      {1, 1, 1, 2, 2, 2, 1, 2},  // grouped (depthwise-like)
  };
  MapperOptions opt;
  opt.max_evaluations = 100000000;
  opt.time_limit_s = 1e9;
  for (const Dims& s : shapes)
    for (double share : {0.0, 0.5}) {
      opt.min_array_share = share;
      const Layer l = layer_of(s);
      for (Dataflow d : kDataflows)
        for (Objective obj : {Objective::kEnergy, Objective::kDelay, Objective::kEdp}) {
          const auto ctx = context(a, l, d);
          opt.objective = obj;
          const MapResult r = map_layer(ctx, opt);
          ASSERT_TRUE(r.exhaustive);
          const double brute = brute_force(ctx, opt);
          EXPECT_NEAR(objective_value(r.cost, obj), brute, 1e-9 * brute)
              << to_string(d) << " " << to_string(obj) << " " << r.mapping.str();
        }
    }
}

TEST(AccelMapper, SampledSearchRepeatsWithItsSeed) {
  const Architecture a = load_architecture("eyeriss");
  const Layer l = layer_of({1, 64, 32, 14, 14, 3, 3, 1});
  MapperOptions opt;
  opt.max_evaluations = 2000;
  const auto ctx = context(a, l, Dataflow::kRowStationary, "w=int8,a=int8,acc=fixed24.0");
  const MapResult r1 = map_layer(ctx, opt), r2 = map_layer(ctx, opt);
  EXPECT_FALSE(r1.exhaustive);
  EXPECT_EQ(r1.mapping.str(), r2.mapping.str());
  EXPECT_EQ(r1.cost.total_pj, r2.cost.total_pj);
  EXPECT_GT(r1.cost.utilization, 0.4);  // the array-share floor holds
}

TEST(AccelSparse, CsrAndBitmapStorageCountIndices) {
  WeightStats w;
  w.rows = 1;
  w.cols = 22;
  w.params = 22;
  w.nonzeros = 2;
  w.zero_runs[20] = 1;  // [x, 0 x 20, y]
  // CSR, 4-bit relative indices: a run of 20 > 15 needs one padding entry: 3 entries of
  // 8 + 4 bits, and 2 row pointers of ceil(log2(4)) = 2 bits.
  EXPECT_DOUBLE_EQ(w.storage_bits(SparseStorage::kCsr, 8, 4), 3 * 12 + 2 * 2);
  EXPECT_DOUBLE_EQ(w.storage_bits(SparseStorage::kBitmap, 8, 4), 22 + 2 * 8);
  EXPECT_DOUBLE_EQ(w.storage_bits(SparseStorage::kDense, 8, 4), 22 * 8);
}

TEST(AccelSparse, SkippingSavesMacsAndCyclesGatingOnlyEnergy) {
  Architecture a = test_arch(1, 1);
  Layer l = layer_of({1, 4, 4, 1, 1, 1, 1, 1});
  l.weights.nonzeros = 4;  // 75% zeros
  l.weights.zero_runs[3] = 4;
  Mapping m = mapping_of(l);
  m.factors[kAtRf][kM] = 4;
  m.factors[kAtGlb][kC] = 4;
  a.sparse = SparseMode::kNone;
  const Cost dense = evaluate(context(a, l, Dataflow::kOutputStationary), m);
  a.sparse = SparseMode::kGate;
  const Cost gate = evaluate(context(a, l, Dataflow::kOutputStationary), m);
  a.sparse = SparseMode::kSkip;
  a.storage = SparseStorage::kCsr;
  const Cost skip = evaluate(context(a, l, Dataflow::kOutputStationary), m);
  ASSERT_TRUE(dense.valid && gate.valid && skip.valid);
  EXPECT_DOUBLE_EQ(gate.macs, 4);
  EXPECT_DOUBLE_EQ(gate.compute_cycles, dense.compute_cycles);
  EXPECT_LT(gate.energy_pj[kMac], dense.energy_pj[kMac]);
  EXPECT_DOUBLE_EQ(skip.compute_cycles, dense.compute_cycles / 4);
  EXPECT_LT(skip.words[kWeights][kDram], dense.words[kWeights][kDram]);
}

TEST(AccelModel, LenetLayersAndPerNodeEstimates) {
  const ir::Graph g = zoo::build("lenet5", 1);
  const LayerSet set = extract_layers(g, 1);
  ASSERT_EQ(set.layers.size(), 5u);
  EXPECT_EQ(set.layers[0].shape.bounds, (Dims{1, 6, 1, 28, 28, 5, 5, 1}));
  EXPECT_EQ(set.layers[2].shape.bounds, (Dims{1, 120, 400, 1, 1, 1, 1, 1}));
  EstimateOptions o;
  o.best_dataflow = true;
  o.formats = numeric::parse_format_spec("w=int8,a=int8,acc=fixed24.0");
  const ModelEstimate m = estimate_model(g, load_architecture("edge"), o);
  const auto nodes = node_estimates(m);
  ASSERT_EQ(nodes.size(), 5u);
  double joules = 0;
  for (const auto& [name, e] : nodes) joules += e.joules;
  EXPECT_NEAR(joules, m.total_pj * 1e-12, 1e-18 + 1e-9 * joules);
  // int8 costs less than fp32 on the same array.
  o.formats = numeric::parse_format_spec("");
  EXPECT_GT(estimate_model(g, load_architecture("edge"), o).total_pj, m.total_pj);
}

// The loop nests hold exactly the MACs the static cost analysis counts, node by node.
TEST(AccelModel, LayerMacsMatchTheCostAnalysis) {
  for (const char* name : {"lenet5", "resnet8_fmnist", "mobilenet_fmnist", "mobilenet_v2"}) {
    const ir::Graph g = zoo::build(name, 1);
    const ops::GraphCost cost = ops::analyze_cost(g, ops::infer_graph(g));
    std::map<std::string, int64_t> macs;
    for (size_t k = 0; k < g.nodes.size(); ++k)
      if (g.nodes[k].op_type == "Conv" || g.nodes[k].op_type == "Gemm" ||
          g.nodes[k].op_type == "MatMul")
        macs[g.nodes[k].name] = cost.nodes[k].macs;
    const LayerSet set = extract_layers(g, 1);
    EXPECT_TRUE(set.skipped.empty()) << name;
    ASSERT_EQ(set.layers.size(), macs.size()) << name;
    for (const Layer& l : set.layers)
      EXPECT_EQ(l.shape.macs(), macs.at(l.node)) << name << " " << l.node;
  }
}

TEST(AccelErrors, BadInputNamesTheCulprit) {
  auto message = [](const std::function<void()>& f) {
    try {
      f();
    } catch (const UserError& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_EQ(message([] {
              parse_architecture("pe_array: {rows: 2, cols: [\n", "a.yaml");
            }).rfind("a.yaml:", 0),
            0u);
  EXPECT_NE(message([] {
              parse_architecture("pe_array: {rows: 2}\nbogus: 1\n", "a.yaml");
            }).find("a.yaml:2:1: unknown key 'bogus'"),
            std::string::npos);
  EXPECT_NE(
      message([] { parse_architecture("dataflow: xs\n", "a.yaml"); }).find("unknown dataflow 'xs'"),
      std::string::npos);
  EXPECT_NE(
      message([] { parse_dataflow("zz", "--dataflow"); }).find("--dataflow: unknown dataflow 'zz'"),
      std::string::npos);
  EXPECT_NE(message([] {
              price(Architecture{}, numeric::parse_format_spec("acc=binary"));
            }).find("cannot price acc=binary"),
            std::string::npos);
  Architecture tiny = test_arch(1, 1);
  tiny.rf_bytes = {2, 2, 2};
  const Layer l = layer_of({1, 2, 2, 1, 1, 1, 1, 1}, "fc9");
  const std::string m = message([&] { map_layer(context(tiny, l, Dataflow::kRowStationary), {}); });
  EXPECT_NE(m.find("layer 'fc9'"), std::string::npos) << m;
  EXPECT_NE(m.find("register file for weights"), std::string::npos) << m;
}

}  // namespace
}  // namespace frugal::accel
