// The compress pipeline: transforms in the Deep Compression order with their needs, the
// combinations refused up front, scoring through the context's callback, and the report
// with the encoded size; a study method's options.
#include <gtest/gtest.h>

#include <algorithm>

#include "frugal/compress/methods.h"
#include "frugal/compress/pipeline.h"
#include "frugal/core/error.h"
#include "frugal/zoo/zoo.h"

using namespace frugal;
using namespace frugal::compress;

TEST(Pipeline, OrderNeedsAndRefusals) {
  PipelineSpec spec;
  spec.quant = "int8";
  spec.cluster = "4";
  spec.prune = "0.5";
  spec.max_drop = 0.5;
  const Pipeline p = make_pipeline(spec);
  ASSERT_EQ(p.size(), 4u);
  EXPECT_EQ(p[0]->name(), "prune:0.5");
  EXPECT_EQ(p[1]->name().rfind("cluster:4", 0), 0u);
  EXPECT_EQ(p[2]->name().rfind("quant:int8", 0), 0u);
  EXPECT_EQ(needs_str(p[0]->needs()), "nothing");
  EXPECT_EQ(needs_str(p[1]->needs()), "fine-tuning");
  EXPECT_EQ(needs_str(p[2]->needs()), "data");
  EXPECT_EQ(needs_str(p[3]->needs()), "data, backend");
  PipelineSpec bad;
  bad.max_drop = 0.5;
  EXPECT_THROW(make_pipeline(bad), UserError);  // --max-drop without --quant
  bad.quant = "int4";
  EXPECT_THROW(make_pipeline(bad), UserError);  // --max-drop needs static int8
  PipelineSpec keep;
  keep.prune = "keep";
  EXPECT_THROW(make_pipeline(keep), UserError);
  // Quantization without any calibration source is refused before anything runs.
  PipelineSpec q;
  q.quant = "int8";
  EXPECT_THROW(run_pipeline(zoo::build("lenet5", 1), make_pipeline(q), PipelineContext{}),
               UserError);
}

TEST(Pipeline, PruneClusterScoredAndEncoded) {
  const ir::Graph g = zoo::build("lenet300_100", 1);
  PipelineSpec spec;
  spec.prune = "0.9";
  spec.cluster = "fc=5";
  PipelineContext ctx;
  int scored = 0;
  ctx.score = [&](const ir::Graph& m, const runtime::SessionOptions&) {
    ++scored;
    return m.initializers.at("fc1.weight").equals(g.initializers.at("fc1.weight")) ? 0.9 : 0.8;
  };
  const PipelineState s = run_pipeline(g, make_pipeline(spec), ctx);
  ASSERT_TRUE(s.sparsity && s.cluster);
  EXPECT_EQ(s.applied.size(), 2u);
  EXPECT_EQ(scored, 2);
  EXPECT_DOUBLE_EQ(*s.accuracy_before, 0.9);
  EXPECT_DOUBLE_EQ(*s.accuracy_after, 0.8);
  const nlohmann::json j = to_json(s, ctx);
  EXPECT_GT(j["encoded"]["ratio"].get<double>(), 20.0);
  EXPECT_EQ(j["prune"], "0.9");
}

// A study method's `frugal compress` options carry every transform its spec sets: one left
// out would run a different method under the method's label.
TEST(Methods, CompressArgsCarryEveryTransformOfTheSpec) {
  MethodRecipe m;
  m.spec.lowrank = "0.5";
  m.spec.circulant = "8";
  m.spec.prune = "0.5";
  m.spec.exclude = "first";
  m.spec.cluster = "5";
  m.spec.binarize = "ternary";
  m.spec.quant = "int8";
  m.spec.max_drop = 1;
  const std::vector<std::string> a = m.compress_args();
  for (const auto& [option, value] :
       std::vector<std::pair<std::string, std::string>>{{"--lowrank", "0.5"},
                                                        {"--circulant", "8"},
                                                        {"--prune", "0.5"},
                                                        {"--exclude", "first"},
                                                        {"--cluster", "5"},
                                                        {"--binarize", "ternary"},
                                                        {"--quant", "int8"}}) {
    const auto at = std::find(a.begin(), a.end(), option);
    ASSERT_NE(at, a.end()) << option;
    ASSERT_NE(at + 1, a.end()) << option;
    EXPECT_EQ(*(at + 1), value) << option;
  }
  EXPECT_NE(std::find(a.begin(), a.end(), "--max-drop"), a.end());
}
