#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "frugal/core/error.h"
#include "frugal/numeric/cost_model.h"
#include "frugal/numeric/format.h"
#include "frugal/measure/clock.h"
#include "frugal/measure/power_select.h"

using namespace frugal::measure;

namespace {

// A meter drawing a constant power: energy = watts x elapsed steady-clock time.
class ConstantPowerMeter final : public PowerMeter {
 public:
  explicit ConstantPowerMeter(double watts) : watts_(watts) {}
  std::string source() const override { return "fake"; }
  EnergyKind kind() const override { return EnergyKind::kMeasured; }
  void start() override { watch_.restart(); }
  Reading stop() override {
    Reading r;
    r.source = source();
    r.duration_s = watch_.elapsed_s();
    r.joules = watts_ * r.duration_s;
    r.mean_watts = watts_;
    return r;
  }

 private:
  double watts_;
  Stopwatch watch_;
};

}  // namespace

TEST(Power, IdleThenActiveEnergy) {
  ConstantPowerMeter idle_meter(4.0);
  const Reading idle = measure_idle(idle_meter, 0.05);
  EXPECT_GE(idle.duration_s, 0.05);
  EXPECT_NEAR(idle.joules / idle.duration_s, 4.0, 1e-9);

  // A run of 10 s at 100 J total with 4 W idle: 40 J idle, 60 J active.
  Reading run;
  run.source = "fake";
  run.joules = 100;
  run.duration_s = 10;
  const EnergySplit s = split_active_energy(run, idle);
  EXPECT_NEAR(s.idle_watts, 4.0, 1e-9);
  EXPECT_NEAR(s.idle_j, 40.0, 1e-7);
  EXPECT_NEAR(s.active_j, 60.0, 1e-7);
  EXPECT_DOUBLE_EQ(s.total_j, 100);
  EXPECT_TRUE(to_json(s).contains("active_j"));

  Reading other = idle;
  other.source = "rapl";
  EXPECT_THROW(split_active_energy(run, other), frugal::UserError);
  EXPECT_THROW(measure_idle(idle_meter, 0), frugal::UserError);
}

TEST(Power, ModelMeterIsAnEstimateFromWork) {
  ModelMeter m;
  m.start();
  WorkDone w;
  w.macs_by_format = {{"fp32", 1e9}, {"int8", 2e9}};
  w.bytes_moved = 1e6;
  m.record_work(w);
  const Reading r = m.stop();
  // 1e9 x 4.6 pJ + 2e9 x 0.3 pJ + 1e6 x 162.5 pJ
  EXPECT_NEAR(r.joules, 4.6e-3 + 0.6e-3 + 1.625e-4, 1e-12);
  EXPECT_EQ(r.kind, EnergyKind::kEstimated);
  EXPECT_EQ(to_json(r)["kind"], "estimated");
  EXPECT_NE(r.note.find("Horowitz"), std::string::npos);
  m.start();
  // A format outside the default table is priced by the numeric cost model; a name that
  // is no format at all is refused.
  m.record_work(WorkDone{{{"e2m1", 1e9}}, 0});
  const Reading r2 = m.stop();
  const double e2m1_pj = frugal::numeric::mac_cost(frugal::numeric::parse_format("e2m1")).energy_pj;
  EXPECT_GT(e2m1_pj, 0.0);
  EXPECT_LT(e2m1_pj, 1.5);  // a 2-bit significand multiplier costs less than fp16's
  EXPECT_NEAR(r2.joules, e2m1_pj * 1e-3, 1e-12);
  m.start();
  EXPECT_THROW(m.record_work(WorkDone{{{"e0m3", 1.0}}, 0}), frugal::UserError);
  EXPECT_THROW(m.record_work(WorkDone{{{"float99", 1.0}}, 0}), frugal::UserError);
}

TEST(Power, ParsesSpecs) {
  EXPECT_EQ(parse_power_spec("auto").kind, PowerSpec::Kind::kAuto);
  EXPECT_EQ(parse_power_spec("none").kind, PowerSpec::Kind::kNone);
  EXPECT_EQ(parse_power_spec("nvml:2").gpu, 2u);
  const PowerSpec s = parse_power_spec("serial:/dev/ttyACM0@921600");
  EXPECT_EQ(s.kind, PowerSpec::Kind::kSerial);
  EXPECT_EQ(s.path, "/dev/ttyACM0");
  EXPECT_EQ(s.baud, 921600);
  EXPECT_EQ(parse_power_spec("serial:/dev/ttyUSB1").baud, 115200);
  for (const char* bad : {"", "watts", "serial:", "serial:/dev/x@fast", "nvml:", "nvml:x"})
    EXPECT_THROW(parse_power_spec(bad), frugal::UserError) << bad;
}

TEST(Power, AutoFallsBackToModelAndSaysWhy) {
  PowerConfig c;
  c.rapl.root = "/nonexistent/frugal/powercap";
  c.nvml.library = "libfrugal-test-absent-nvml.so.1";
  const PowerChoice choice = select_power_meter_auto(c);
  ASSERT_NE(choice.meter, nullptr);
  EXPECT_EQ(choice.meter->source(), "model");
  EXPECT_EQ(choice.meter->kind(), EnergyKind::kEstimated);
  EXPECT_NE(choice.explanation.find("falling back to model"), std::string::npos);
  EXPECT_NE(choice.explanation.find("rapl"), std::string::npos) << choice.explanation;
  EXPECT_NE(choice.explanation.find("nvml"), std::string::npos) << choice.explanation;
  EXPECT_EQ(make_power_meter(parse_power_spec("none"), c).meter, nullptr);
  EXPECT_THROW(make_power_meter(parse_power_spec("rapl"), c), frugal::UserError);
}

TEST(Power, AutoPrefersRaplWhenReadable) {
  namespace fs = std::filesystem;
  const fs::path root = fs::temp_directory_path() / ("frugal-auto-" + std::to_string(::getpid()));
  fs::create_directories(root / "intel-rapl:0");
  std::ofstream(root / "intel-rapl:0/name") << "package-0\n";
  std::ofstream(root / "intel-rapl:0/energy_uj") << "123\n";
  std::ofstream(root / "intel-rapl:0/max_energy_range_uj") << "1000000\n";
  PowerConfig c;
  c.rapl.root = root.string();
  const PowerChoice choice = make_power_meter(parse_power_spec("auto"), c);
  EXPECT_EQ(choice.meter->source(), "rapl");
  fs::remove_all(root);
}
