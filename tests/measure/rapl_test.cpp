#include <gtest/gtest.h>

#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iostream>
#include <string>

#include "frugal/core/error.h"
#include "frugal/measure/clock.h"
#include "frugal/measure/rapl_meter.h"

using namespace frugal::measure;
namespace fs = std::filesystem;

namespace {

// A powercap tree laid out like /sys/class/powercap, in a temporary directory.
class FakePowercap {
 public:
  FakePowercap() {
    root_ = fs::temp_directory_path() /
            ("frugal-rapl-" + std::to_string(::getpid()) + "-" + std::to_string(counter_++));
    fs::remove_all(root_);
    fs::create_directories(root_ / "intel-rapl");  // the control type: no name, no counter
    fs::permissions(root_, fs::perms::owner_all | fs::perms::group_read | fs::perms::group_exec |
                               fs::perms::others_read | fs::perms::others_exec);
  }
  ~FakePowercap() { fs::remove_all(root_); }
  std::string root() const { return root_.string(); }
  void add_zone(const std::string& zone, const std::string& name, uint64_t energy_uj,
                uint64_t max_range_uj) {
    fs::create_directories(root_ / zone);
    write(zone + "/name", name + "\n");
    write(zone + "/max_energy_range_uj", std::to_string(max_range_uj) + "\n");
    set_energy(zone, energy_uj);
  }
  // Written to a new file and renamed, as the meter may read concurrently.
  void set_energy(const std::string& zone, uint64_t uj) {
    write(zone + "/energy_uj.tmp", std::to_string(uj) + "\n");
    fs::rename(root_ / zone / "energy_uj.tmp", root_ / zone / "energy_uj");
  }
  std::string path(const std::string& rel) const { return (root_ / rel).string(); }

 private:
  void write(const std::string& rel, const std::string& text) {
    std::ofstream(root_ / rel) << text;
  }
  fs::path root_;
  static inline int counter_ = 0;
};

constexpr uint64_t kIntelRange = 262143328850;  // a typical max_energy_range_uj

}  // namespace

TEST(Rapl, DeltaWrapsThroughMaxRange) {
  EXPECT_EQ(rapl_delta_uj(100, 350, 1000), 250u);
  EXPECT_EQ(rapl_delta_uj(900, 100, 1000), 200u);  // 100 to the wrap, then 100
  EXPECT_EQ(rapl_delta_uj(5, 5, 1000), 0u);
}

TEST(Rapl, DiscoversPackageAndDramOnly) {
  FakePowercap t;
  t.add_zone("intel-rapl:0", "package-0", 1, kIntelRange);
  t.add_zone("intel-rapl:0:0", "core", 1, kIntelRange);
  t.add_zone("intel-rapl:0:1", "uncore", 1, kIntelRange);
  t.add_zone("intel-rapl:0:2", "dram", 1, kIntelRange);
  t.add_zone("intel-rapl:1", "psys", 1, kIntelRange);
  t.add_zone("intel-rapl-mmio:0", "package-0", 1, kIntelRange);  // same package again
  const auto d = discover_rapl_domains(t.root());
  ASSERT_EQ(d.size(), 2u);
  EXPECT_EQ(d[0].zone, "intel-rapl:0");
  EXPECT_EQ(d[0].name, "package-0");
  EXPECT_EQ(d[1].zone, "intel-rapl:0:2");
  EXPECT_EQ(d[1].name, "dram");
  EXPECT_EQ(d[1].max_energy_range_uj, kIntelRange);
}

TEST(Rapl, UsesMmioPackageWhenMsrHasNone) {
  FakePowercap t;
  t.add_zone("intel-rapl-mmio:0", "package-0", 1, kIntelRange);
  const auto d = discover_rapl_domains(t.root());
  ASSERT_EQ(d.size(), 1u);
  EXPECT_EQ(d[0].zone, "intel-rapl-mmio:0");
}

TEST(Rapl, SumsDomainsAcrossAWraparound) {
  FakePowercap t;
  t.add_zone("intel-rapl:0", "package-0", 1000000, kIntelRange);
  t.add_zone("intel-rapl:0:0", "dram", kIntelRange - 1000000, kIntelRange);
  RaplMeter m(RaplOptions{t.root(), 0.0});
  m.start();
  t.set_energy("intel-rapl:0", 3500000);   // +2.5 J
  t.set_energy("intel-rapl:0:0", 500000);  // 1 J to the wrap, then 0.5 J
  const Reading r = m.stop();
  EXPECT_NEAR(r.joules, 4.0, 1e-9);
  EXPECT_EQ(r.source, "rapl");
  EXPECT_EQ(r.kind, EnergyKind::kMeasured);
  EXPECT_EQ(r.samples, 2);
  EXPECT_GT(r.duration_s, 0);
  EXPECT_NE(r.note.find("dram"), std::string::npos);
}

// More energy than the counter's range in one window: only polling sees every wrap.
TEST(Rapl, PollingCatchesRepeatedWraps) {
  FakePowercap t;
  const uint64_t range = 10000000;  // 10 J
  t.add_zone("intel-rapl:0", "package-0", 9000000, range);
  RaplMeter m(RaplOptions{t.root(), 0.005});
  m.start();
  // 9 -> 2 (+3 J) -> 8 (+6 J) -> 1 (+3 J) -> 4 (+3 J): 15 J in all.
  for (uint64_t uj : {2000000u, 8000000u, 1000000u, 4000000u}) {
    sleep_seconds(0.06);
    t.set_energy("intel-rapl:0", uj);
  }
  sleep_seconds(0.06);
  const Reading r = m.stop();
  EXPECT_NEAR(r.joules, 15.0, 1e-9);
  EXPECT_GT(r.samples, 5);
}

TEST(Rapl, MissingRootSaysNoPowercap) {
  try {
    RaplMeter m(RaplOptions{"/nonexistent/frugal/powercap", 0});
    FAIL() << "expected UserError";
  } catch (const frugal::UserError& e) {
    EXPECT_NE(std::string(e.what()).find("/nonexistent/frugal/powercap"), std::string::npos);
    EXPECT_NE(std::string(e.what()).find("no powercap"), std::string::npos);
  }
}

TEST(Rapl, TreeWithoutDomainsIsRefused) {
  FakePowercap t;
  t.add_zone("intel-rapl:0:0", "core", 1, kIntelRange);
  EXPECT_THROW(RaplMeter(RaplOptions{t.root(), 0}), frugal::UserError);
}

TEST(Rapl, MalformedCounterNamesTheFile) {
  FakePowercap t;
  t.add_zone("intel-rapl:0", "package-0", 1, kIntelRange);
  std::ofstream(t.path("intel-rapl:0/energy_uj")) << "twelve\n";
  try {
    RaplMeter m(RaplOptions{t.root(), 0});
    FAIL() << "expected UserError";
  } catch (const frugal::UserError& e) {
    EXPECT_NE(std::string(e.what()).find(t.path("intel-rapl:0/energy_uj")), std::string::npos);
  }
}

// energy_uj readable by root only (Linux >= 5.10). Root reads any file, so the check runs
// in a child process that drops to an unprivileged user first.
TEST(Rapl, UnreadableCounterExplainsPermission) {
  FakePowercap t;
  t.add_zone("intel-rapl:0", "package-0", 1, kIntelRange);
  const std::string counter = t.path("intel-rapl:0/energy_uj");
  ::chmod(counter.c_str(), 0600);
  ::chmod(t.path("intel-rapl:0").c_str(), 0755);
  auto child = [&] {
    if (::geteuid() == 0 && (::setgid(65534) != 0 || ::setuid(65534) != 0)) {
      std::cerr << "cannot drop privileges";
      std::_Exit(2);
    }
    try {
      RaplMeter m(RaplOptions{t.root(), 0});
    } catch (const frugal::UserError& e) {
      std::cerr << e.what();
      std::_Exit(0);
    }
    std::_Exit(1);
  };
  EXPECT_EXIT(child(), ::testing::ExitedWithCode(0),
              "cannot read .*intel-rapl:0/energy_uj: Permission denied.*root only");
}
