// Sensitivity sweep: one row per layer, one score per level, each model pruned in one
// layer only; the agreement scorer gives 1 for the unpruned model.
#include <gtest/gtest.h>

#include "frugal/compress/prune.h"
#include "frugal/compress/sensitivity.h"
#include "frugal/zoo/zoo.h"

using namespace frugal;
using namespace frugal::compress;

TEST(Sensitivity, OneLayerAtATime) {
  const ir::Graph g = zoo::build("lenet5", 21);
  std::vector<std::pair<std::string, int64_t>> seen;  // (layer pruned, zeros) per call
  const ScoreFn score = [&](const ir::Graph& m) {
    int64_t pruned_layers = 0, z = 0;
    std::string which;
    for (const auto& l : prunable_layers(m)) {
      int64_t lz = 0;
      for (float v : m.initializer(l.weight)->span<float>()) lz += v == 0.0f;
      if (lz) ++pruned_layers, which = l.name, z = lz;
    }
    EXPECT_LE(pruned_layers, 1);
    seen.emplace_back(which, z);
    return static_cast<double>(z);
  };
  SensitivityOptions o;
  o.levels = {0.0, 0.5, 0.9};
  o.exclude = {"last"};
  const SensitivityResult r = sensitivity(g, score, o);
  EXPECT_EQ(r.baseline, 0.0);
  ASSERT_EQ(r.rows.size(), 4u);
  EXPECT_EQ(r.rows[2].layer, "fc1");
  EXPECT_EQ(r.rows[2].scores, (std::vector<double>{0, 24000, 43200}));
  EXPECT_EQ(seen.size(), 1u + 4u * 3u);
  const auto j = to_json(r);
  EXPECT_EQ(j["layers"].size(), 4u);
  o.levels = {1.0};
  EXPECT_THROW(sensitivity(g, score, o), UserError);
}

TEST(Sensitivity, AgreementScore) {
  const ir::Graph g = zoo::build("lenet5", 22);
  const ScoreFn agree = agreement_score(g, 64, 3);
  EXPECT_EQ(agree(g), 1.0);
  SensitivityOptions o;
  o.levels = {0.0, 0.9};
  const SensitivityResult r = sensitivity(g, agree, o);
  ASSERT_EQ(r.rows.size(), 5u);
  for (const auto& row : r.rows) EXPECT_EQ(row.scores[0], 1.0) << row.layer;
  // Pruning 90% of conv1 changes some predictions on random inputs.
  EXPECT_LT(r.rows[0].scores[1], 1.0);
}
