#include <gtest/gtest.h>

#include <set>

#include "frugal/core/error.h"
#include "frugal/explore/spec.h"

using frugal::UserError;
using namespace frugal::explore;

namespace {

SweepSpec parse(const std::string& yaml) {
  return parse_sweep_spec(yaml, "s.yaml", "/base");
}

std::string error_of(const std::string& yaml) {
  try {
    parse(yaml);
  } catch (const UserError& e) {
    return e.what();
  }
  return "(no error)";
}

std::set<std::string> keys(const SweepSpec& s) {
  std::set<std::string> k;
  for (const auto& p : s.points) k.insert(p.key());
  return k;
}

}  // namespace

TEST(SweepSpec, GridIsTheProductOfTheAxes) {
  auto s = parse(R"(
models: [lenet5, nets/a.onnx]
backends: [ref, "cpu,ref"]
threads: [1, 2]
batch: 4
)");
  // 2 models x 1 transform x 2 backends x 2 threads x 1 batch = 8.
  ASSERT_EQ(s.points.size(), 8u);
  EXPECT_EQ(s.points[0].key(), "lenet5|none|ref|fp32|-|t1|b4|single-stream");
  EXPECT_EQ(s.points[0].model.zoo, "lenet5");
  EXPECT_EQ(s.points[7].model.file, "/base/nets/a.onnx");
  EXPECT_EQ(s.points[7].model.label, "a");
  EXPECT_EQ(s.points[7].key(), "a|none|cpu,ref|fp32|-|t2|b4|single-stream");
  EXPECT_EQ(s.name, "s");
}

TEST(SweepSpec, EntryOverridesAndSettings) {
  auto s = parse(R"(
name: t
models:
  - {zoo: lenet5, data: "fashion-mnist:test", limit: 100, duration: 3}
transforms:
  - none
  - {name: p50, steps: ["prune --sparsity 0.5"]}
backends:
  - ref
  - {name: cpu, precisions: [fp32, bf16], threads: [1, 2]}
  - {name: emu, formats: ["w=e4m3,a=e4m3"]}
duration: 1
timeout: 30
memory: 512
bench_args: --profile
)");
  // Per transform: ref 1 + cpu 2x2 + emu 1 = 6; two transforms: 12.
  ASSERT_EQ(s.points.size(), 12u);
  auto ks = keys(s);
  EXPECT_TRUE(ks.count("lenet5|p50|cpu|bf16|-|t2|b1|single-stream"));
  EXPECT_TRUE(ks.count("lenet5|none|emu|fp32|w=e4m3,a=e4m3|t1|b1|single-stream"));
  EXPECT_FALSE(ks.count("lenet5|none|ref|bf16|-|t1|b1|single-stream"));
  const Point& p = s.points[0];
  EXPECT_EQ(p.model.data, "fashion-mnist:test");
  EXPECT_EQ(p.model.limit, 100);
  EXPECT_DOUBLE_EQ(p.settings.duration_s, 3);  // the model entry overrides the top level
  EXPECT_DOUBLE_EQ(p.settings.timeout_s, 30);
  EXPECT_EQ(p.settings.memory_mib, 512);
  EXPECT_EQ(p.settings.bench_args, std::vector<std::string>{"--profile"});
  EXPECT_EQ(p.transform.steps, std::vector<std::string>{});
  EXPECT_EQ(s.points[6].transform.steps, std::vector<std::string>{"prune --sparsity 0.5"});
}

TEST(SweepSpec, ExcludeAndInclude) {
  auto s = parse(R"(
models: [lenet5, resnet18]
backends: [ref, cpu]
precisions: [fp32, bf16]
exclude:
  - {backend: ref, precision: bf16}
  - {model: resnet18, backend: ref}
include:
  - {model: lenet5, backend: cpu, batch: [8, 16], timeout: 5}
)");
  // Product 8, minus lenet5/ref/bf16 and resnet18/ref/{fp32,bf16} = 5, plus cpu x {fp32,bf16} x
  // {8,16} = 4.
  EXPECT_EQ(s.points.size(), 9u);
  auto ks = keys(s);
  EXPECT_FALSE(ks.count("lenet5|none|ref|bf16|-|t1|b1|single-stream"));
  EXPECT_FALSE(ks.count("resnet18|none|ref|fp32|-|t1|b1|single-stream"));
  EXPECT_TRUE(ks.count("lenet5|none|cpu|bf16|-|t1|b16|single-stream"));
  for (const auto& p : s.points) {
    if (p.batch == 8) {
      EXPECT_DOUBLE_EQ(p.settings.timeout_s, 5);
    }
  }
}

TEST(SweepSpec, EntryOverrideBeatsTopLevel) {
  auto s = parse("models: [{zoo: lenet5, duration: 3}]\nduration: 1\n");
  ASSERT_EQ(s.points.size(), 1u);
  EXPECT_DOUBLE_EQ(s.points[0].settings.duration_s, 3);
}

TEST(SweepSpec, DuplicatesAreMergedByKey) {
  auto s = parse("models: [lenet5]\ninclude: [{model: lenet5}]\n");
  EXPECT_EQ(s.points.size(), 1u);
}

TEST(SweepSpec, ErrorsCarryLineAndColumn) {
  EXPECT_EQ(
      error_of("models: [lenet5]\nbackend: [ref]\n"),
      "s.yaml:2:1: unknown key 'backend' in the spec (expected one of: name, models, "
      "transforms, backends, "
      "include, exclude, train, precisions, formats, threads, batch, scenarios, stages, devices, "
      "partition, power, "
      "duration, min_queries, timeout, "
      "memory, calibration, bench_args, eval_args)");
  EXPECT_EQ(error_of("models: [lenet5]\nthreads: [1, two]\n"),
            "s.yaml:2:14: threads: expected an integer, got 'two'");
  EXPECT_EQ(error_of("models: [lenet5]\nbackends: []\n"),
            "s.yaml:2:11: backends: empty list: the grid would be empty");
  EXPECT_EQ(error_of("models:\n  - {zoo: lenet5, colour: red}\n"),
            "s.yaml:2:19: unknown key 'colour' in a models entry (expected one of: zoo, file, "
            "name, data, limit, "
            "precisions, formats, threads, batch, scenarios, stages, devices, partition, power, "
            "duration, "
            "min_queries, timeout, memory, "
            "calibration, bench_args, eval_args)");
  EXPECT_EQ(error_of("models: [lenet5]\nexclude:\n  - {model: lenet5}\n"),
            "s.yaml:3:3: the grid is empty (every point is excluded)");
  EXPECT_EQ(error_of("models: [lenet5]\nexclude:\n  - {model: lenet6}\n"),
            "s.yaml:3:13: exclude: no model named 'lenet6' in the spec");
  EXPECT_EQ(error_of("models: [lenet5]\ntimeout: -3\n"),
            "s.yaml:2:10: timeout: must be a positive number of seconds, got -3");
  EXPECT_EQ(error_of("models: [lenet5]\nbatch: {a: 1}\n"),
            "s.yaml:2:8: batch: expected an integer, got a mapping");
  EXPECT_EQ(error_of("models: [lenet5\n"), error_of("models: [lenet5\n"));
  EXPECT_NE(error_of("models: [lenet5\n").find("s.yaml:"), std::string::npos);
  EXPECT_NE(error_of("models: [lenet5\n").find("YAML syntax error"), std::string::npos);
  EXPECT_EQ(error_of(""), "s.yaml: empty spec: the grid would be empty");
  EXPECT_EQ(error_of("backends: [ref]\n"),
            "s.yaml:1:1: the spec needs models: (zoo names or ONNX files) or train: entries");
}

TEST(SweepSpec, ShardsPartitionTheGrid) {
  auto s =
      parse("models: [lenet5, resnet18, squeezenet1_1]\nthreads: [1, 2, 3]\nbatch: [1, 2, 4]\n");
  ASSERT_EQ(s.points.size(), 27u);
  std::multiset<std::string> seen;
  for (int i = 0; i < 4; ++i) {
    auto part = shard_points(s.points, i, 4);
    EXPECT_EQ(part.size(), shard_points(s.points, i, 4).size());  // deterministic
    for (const auto& p : part) seen.insert(p.key());
  }
  EXPECT_EQ(seen.size(), 27u);
  EXPECT_EQ(std::set<std::string>(seen.begin(), seen.end()).size(), 27u);  // disjoint
  EXPECT_EQ(shard_points(s.points, 0, 1).size(), 27u);
  EXPECT_EQ(parse_shard("2/4"), std::make_pair(1, 4));
  EXPECT_THROW(parse_shard("0/4"), UserError);
  EXPECT_THROW(parse_shard("5/4"), UserError);
  EXPECT_THROW(parse_shard("1-4"), UserError);
  EXPECT_THROW(parse_shard("1/4x"), UserError);
}

TEST(SweepSpec, TrainEntriesMakeOnePointPerFormatAccumulatorAndRounding) {
  auto s = parse(R"(
train:
  - model: lenet5
    limit: 3200
    epochs: 1
    batch: 16
    lr: 0.05
    formats: [fp32, bf16, "W=e4m3,A=e4m3,E=e5m2,G=e5m2"]
    accumulators: [fp32, fp16]
    rounding: [nearest, stochastic]
    timeout: 90
)");
  ASSERT_EQ(s.points.size(), 12u);
  const Point& p = s.points[2];  // fp32 formats, fp16 accumulator, nearest
  ASSERT_TRUE(p.train.has_value());
  EXPECT_EQ(p.key(), "lenet5|train|fp32|acc=fp16|nearest|e1 n3200 lr=0.05 s0|t1|b16");
  EXPECT_EQ(p.format, "ACC=fp16");
  EXPECT_EQ(p.model.data, "fashion-mnist");
  EXPECT_EQ(p.settings.timeout_s, 90);
  const Point& q = s.points[7];  // bf16, fp16, stochastic
  EXPECT_EQ(q.precision, "bf16");
  EXPECT_EQ(q.format, "W=bf16,A=bf16,E=bf16,G=bf16,ACC=fp16");
  EXPECT_EQ(q.train->rounding_spec, "default=stochastic");
  EXPECT_EQ(s.points[8].format, "W=e4m3,A=e4m3,E=e5m2,G=e5m2");
  // Train points sit beside a grid without changing its keys.
  auto both = parse("models: [lenet5]\ntrain: [{model: lenet5}]\n");
  ASSERT_EQ(both.points.size(), 2u);
  EXPECT_EQ(both.points[0].key(), "lenet5|none|cpu,ref|fp32|-|t1|b1|single-stream");
  EXPECT_EQ(both.points[1].key(), "lenet5|train|fp32|acc=fp32|nearest|e1 s0|t1|b64");
}

TEST(SweepSpec, BadTrainEntriesNameTheirLine) {
  EXPECT_EQ(error_of("train:\n  - model: lenet5\n    formats: [bf16, e9m99]\n").substr(0, 36),
            "s.yaml:3:21: train formats 'e9m99': ");
  EXPECT_NE(error_of("train:\n  - model: lenet5\n    rounding: sideways\n")
                .find("s.yaml:3:15: train rounding 'sideways'"),
            std::string::npos);
  EXPECT_NE(error_of("train:\n  - model: lenet5\n    accumulators: fp99\n")
                .find("s.yaml:3:19: train accumulators 'fp99'"),
            std::string::npos);
  EXPECT_NE(
      error_of("train:\n  - model: lenet5\n    optimizer: lion\n").find("s.yaml:3:16: optimizer:"),
      std::string::npos);
  EXPECT_NE(error_of("train:\n  - model: lenet5\n    epoch: 2\n")
                .find("s.yaml:3:5: unknown key 'epoch' in a train entry"),
            std::string::npos);
  EXPECT_NE(error_of("train:\n  - {data: fashion-mnist}\n").find("needs model:"),
            std::string::npos);
}
