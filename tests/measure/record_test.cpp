// SHA-256 against the FIPS 180-2 examples, the Record's required fields, CPU lists.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "frugal/core/error.h"
#include "frugal/measure/affinity.h"
#include "frugal/measure/record.h"
#include "frugal/measure/sha256.h"

using namespace frugal;
using namespace frugal::measure;

TEST(Sha256, Fips180Examples) {
  // FIPS 180-2, appendix B: one block, two blocks, and a million 'a'.
  EXPECT_EQ(sha256_hex(std::string("abc")),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(sha256_hex(std::string("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq")),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  EXPECT_EQ(sha256_hex(std::string(1000000, 'a')),
            "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
  EXPECT_EQ(sha256_hex(std::string()),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

TEST(Sha256, ChunkingDoesNotMatterAndFilesAreHashed) {
  const std::string text(1000, 'a');
  for (size_t chunk : {1u, 7u, 63u, 64u, 65u, 999u}) {
    Sha256 h;
    for (size_t i = 0; i < text.size(); i += chunk) h.update(text.substr(i, chunk));
    EXPECT_EQ(h.hex_digest(), sha256_hex(text)) << chunk;
  }
  const std::string path =
      std::filesystem::temp_directory_path() / ("frugal-sha-" + std::to_string(::getpid()));
  std::ofstream(path, std::ios::binary) << "abc";
  EXPECT_EQ(sha256_file(path), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  std::filesystem::remove(path);
  try {
    sha256_file("/nonexistent/model.onnx");
    ADD_FAILURE() << "no error";
  } catch (const UserError& e) {
    EXPECT_NE(std::string(e.what()).find("/nonexistent/model.onnx"), std::string::npos);
  }
}

TEST(Record, CompleteAndChecked) {
  RecordWhat what;
  what.model = "m.onnx";
  what.model_digest = sha256_hex(std::string("m"));
  what.backends = {"cpu", "ref"};
  what.scenario = "offline";
  SessionBenchResult sr;
  sr.bench.latencies_s = {0.001, 0.002};
  sr.bench.latency = summarize(sr.bench.latencies_s);
  const nlohmann::json rec =
      make_record(what, bench_results_json(sr), record_where(describe_system(), 0));
  EXPECT_TRUE(record_problems(rec).empty()) << rec.dump(1);
  EXPECT_EQ(rec["schema"], "frugal.record/1");
  EXPECT_EQ(rec["where"]["time"], "1970-01-01T00:00:00Z");
  EXPECT_DOUBLE_EQ(rec["results"]["latency"]["p50_ms"].get<double>(), 1.5);
  EXPECT_TRUE(rec["results"]["energy"].is_null());  // not measured: null, never 0
  EXPECT_TRUE(rec["where"]["libraries"]["onednn"].get<std::string>().rfind("2.", 0) == 0);
  nlohmann::json broken = rec;
  broken["what"]["model_digest"] = "abc";
  broken["where"].erase("cpu_model");
  const auto problems = record_problems(broken);
  EXPECT_EQ(problems.size(), 2u);
}

TEST(Record, EvalRecordCarriesAccuracyOnly) {
  RecordWhat what;
  what.model = "m.onnx";
  what.model_digest = sha256_hex(std::string("m"));
  what.backends = {"ref"};
  what.scenario = "eval";
  what.data = "fashion-mnist:test";
  EvalResult r;
  r.samples = 4;
  r.classes = 2;
  r.top1 = 0.75;
  r.per_class = {{0, 2, 2}, {1, 2, 1}};
  r.confusion = {{2, 0}, {1, 1}};
  const nlohmann::json rec =
      make_record(what, eval_results_json(r), record_where(describe_system(), 0));
  EXPECT_TRUE(record_problems(rec).empty()) << rec.dump(1);
  EXPECT_TRUE(rec["results"]["latency"].is_null());
  EXPECT_DOUBLE_EQ(rec["results"]["accuracy"]["per_class"][1]["top1"].get<double>(), 0.5);
  EXPECT_EQ(rec["results"]["accuracy"]["confusion"][1][0], 1);
  EXPECT_TRUE(rec["results"]["accuracy"]["reference"].is_null());
  EXPECT_EQ(rec["what"]["data"], "fashion-mnist:test");
}

TEST(Affinity, CpuListsRoundTrip) {
  EXPECT_EQ(parse_cpu_list("0-3,6"), (std::vector<int>{0, 1, 2, 3, 6}));
  EXPECT_EQ(parse_cpu_list("5,1,1"), (std::vector<int>{1, 5}));
  EXPECT_EQ(cpu_list_str({0, 1, 2, 3, 6, 8, 9}), "0-3,6,8-9");
  for (const char* bad : {"", "a", "3-1", "1,", "-1", "0-"}) {
    try {
      parse_cpu_list(bad);
      ADD_FAILURE() << "accepted " << bad;
    } catch (const UserError& e) {
      EXPECT_NE(std::string(e.what()).find("--pin"), std::string::npos) << e.what();
    }
  }
  // Pinning to the CPUs already allowed succeeds; an absent CPU is refused with the reason.
  const auto allowed = current_affinity();
  ASSERT_FALSE(allowed.empty());
  EXPECT_NO_THROW(pin_to_cpus(allowed));
  try {
    pin_to_cpus({1000});
    ADD_FAILURE() << "pinned to CPU 1000";
  } catch (const UserError& e) {
    EXPECT_NE(std::string(e.what()).find("allowed CPUs"), std::string::npos) << e.what();
  }
}
