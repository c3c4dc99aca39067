// Training points of a sweep (spec `train:` entries, docs/sweep.md): the argv of their
// `frugal train` child, and the Record built from its JSON summary, with the cost model's
// energy and area per MAC of the point's formats (estimates: docs/cost-model.md).
#pragma once

#include <ctime>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "frugal/explore/spec.h"

namespace frugal::explore {

// `frugal train MODEL --data ... --json -o OUT` with the point's schedule and formats; the
// checkpoint goes to OUT.ckpt.
std::vector<std::string> train_argv(const Point& p, const std::string& exe,
                                    const std::string& model_path, const std::string& out);

// The estimated cost of one training MAC under a train --format policy: the forward
// (W x A), backward-data (E x W) and weight-gradient (E x A) GEMMs each multiply in the
// costlier of their two operand formats and add in the accumulator (ACC, else fp32). The
// three GEMMs of a Conv or Gemm layer have the same MAC count, so a training MAC costs
// their mean energy; one unit serving all three needs the largest area. Throws UserError on
// a bad policy.
nlohmann::json training_mac_cost(const std::string& policy);

// The Record (docs/record.md) of a finished training point from train --json's summary:
// results.accuracy.top1 the last epoch's test accuracy, results.training the loss, wall time
// and the per-epoch figures, results.training.mac_cost the estimate above. Throws
// UserError when the summary has no epochs.
nlohmann::json train_record(const Point& p, const nlohmann::json& summary,
                            const std::string& model_path, double wall_s, std::time_t started);

}  // namespace frugal::explore
