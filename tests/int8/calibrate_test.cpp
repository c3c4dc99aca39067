// calibrate_minmax over hand-checkable graphs, and the ranges file: round trip and
// one-line errors naming the file and the bad entry.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>

#include <unistd.h>
#include <nlohmann/json.hpp>

#include "frugal/runtime/calibrate.h"
#include "kernels/cpu_testing.h"

using namespace frugal;
using namespace frugal::cpu_testing;

namespace {

// x -> Relu -> r -> Mul(r, 2) -> y
ir::Graph relu_then_double() {
  ir::Graph g;
  g.opsets[""] = 17;
  g.inputs.push_back(ir::ValueInfo{"x", DType::kF32, std::vector<ir::Dim>{{4, ""}}});
  g.initializers["two"] = Tensor::scalar<float>(2.0f);
  ir::Node relu{.name = "relu", .op_type = "Relu", .inputs = {"x"}, .outputs = {"r"}};
  ir::Node mul{.name = "mul", .op_type = "Mul", .inputs = {"r", "two"}, .outputs = {"y"}};
  g.nodes = {relu, mul};
  g.outputs.push_back(ir::ValueInfo{"y", DType::kUndefined, std::nullopt});
  g.validate_and_sort();
  return g;
}

std::string temp_path(const std::string& name) {
  return (std::filesystem::temp_directory_path() /
          ("frugal_int8_" + std::to_string(::getpid()) + "_" + name))
      .string();
}

std::string write_file(const std::string& name, const std::string& text) {
  const std::string path = temp_path(name);
  std::ofstream(path) << text;
  return path;
}

// The UserError message of loading `text` as a ranges file.
std::string load_error(const std::string& name, const std::string& text) {
  const std::string path = write_file(name, text);
  try {
    runtime::load_ranges(path);
  } catch (const UserError& e) {
    std::filesystem::remove(path);
    return e.what();
  }
  std::filesystem::remove(path);
  return "";
}

}  // namespace

TEST(Calibrate, MinMaxOverAllBatchesOfEveryValue) {
  const ir::Graph g = relu_then_double();
  const std::vector<std::vector<Tensor>> batches{
      {Tensor::from_vector<float>({4}, {-1.0f, 2.0f, 0.5f, 0.0f})},
      {Tensor::from_vector<float>({4}, {3.0f, -4.0f, NAN, 1.0f})},
  };
  for (const std::string backend : {"ref", "cpu"}) {
    runtime::SessionOptions opt;
    opt.backends = {backend, "ref"};
    const runtime::RangeMap r = runtime::calibrate_minmax(g, batches, opt);
    ASSERT_EQ(r.size(), 3u) << backend;
    // x: -4 .. 3 (NaN ignored); r = relu(x): 0 .. 3; y = 2r: 0 .. 6.
    EXPECT_EQ(r.at("x").min, -4.0f);
    EXPECT_EQ(r.at("x").max, 3.0f);
    EXPECT_EQ(r.at("r").min, 0.0f);
    EXPECT_EQ(r.at("r").max, 3.0f);
    EXPECT_EQ(r.at("y").min, 0.0f);
    EXPECT_EQ(r.at("y").max, 6.0f);
  }
}

TEST(Calibrate, RefusesBatchesThatDoNotFit) {
  const ir::Graph g = relu_then_double();
  EXPECT_THROW(runtime::calibrate_minmax(g, {}, {}), UserError);
  EXPECT_THROW(runtime::calibrate_minmax(g, {{}}, {}), UserError);
  EXPECT_THROW(runtime::calibrate_minmax(g, {{Tensor(DType::kF32, {5})}}, {}), UserError);
}

TEST(RangesFile, RoundTripIsExact) {
  runtime::RangesFile f;
  f.samples = 7;
  f.ranges["conv1"] = {-0.1f, 3.4028235e38f};
  f.ranges["odd \"name\""] = {1e-30f, 1.0f / 3.0f};
  const std::string path = temp_path("round.json");
  runtime::save_ranges(path, f);
  const runtime::RangesFile back = runtime::load_ranges(path);
  std::filesystem::remove(path);
  EXPECT_EQ(back.method, "minmax");
  EXPECT_EQ(back.samples, 7);
  ASSERT_EQ(back.ranges.size(), 2u);
  for (const auto& [name, r] : f.ranges) {
    EXPECT_EQ(back.ranges.at(name).min, r.min) << name;
    EXPECT_EQ(back.ranges.at(name).max, r.max) << name;
  }
  // The documented schema, readable by hand.
  const nlohmann::json j = nlohmann::json::parse(runtime::ranges_to_json(f));
  EXPECT_EQ(j["schema"], "frugal.ranges/1");
  EXPECT_EQ(j["ranges"]["conv1"][0].get<float>(), -0.1f);
}

TEST(RangesFile, BadFilesFailWithOneLineNamingFileAndEntry) {
  const std::string head = R"({"schema":"frugal.ranges/1","method":"minmax","samples":2,)";
  struct Bad {
    std::string text, needle;
  };
  const std::vector<Bad> cases{
      {"{not json", "not valid JSON"},
      {"[1, 2]", "expected a JSON object"},
      {R"({"schema":"other/2","method":"minmax","samples":1,"ranges":{}})",
       "schema is \"other/2\""},
      {R"({"schema":"frugal.ranges/1","samples":1,"ranges":{}})", "missing 'method'"},
      {head + R"("ranges":[]})", "'ranges' must be an object"},
      {head + R"("ranges":{"a":[0,1],"conv2":[1]}})", "range 'conv2': expected [min, max]"},
      {head + R"("ranges":{"relu3":[2,1]}})", "range 'relu3'"},
      {head + R"("ranges":{"big":[0,1e39]}})", "range 'big'"},
      {head + R"("ranges":{"s":["0","1"]}})", "range 's'"},
      {R"({"schema":"frugal.ranges/1","method":"minmax","samples":-1,"ranges":{}})", "'samples'"},
  };
  for (size_t i = 0; i < cases.size(); ++i) {
    const std::string name = "bad" + std::to_string(i) + ".json";
    const std::string msg = load_error(name, cases[i].text);
    EXPECT_NE(msg.find(name), std::string::npos) << "case " << i << ": " << msg;
    EXPECT_NE(msg.find(cases[i].needle), std::string::npos) << "case " << i << ": " << msg;
    EXPECT_EQ(msg.find('\n'), std::string::npos) << "case " << i << ": " << msg;
  }
  try {
    runtime::load_ranges(temp_path("missing.json"));
    ADD_FAILURE() << "no error for a missing file";
  } catch (const UserError& e) {
    EXPECT_NE(std::string(e.what()).find("missing.json: cannot open"), std::string::npos)
        << e.what();
  }
}
