#include "frugal/kernels/thread_environment.h"

#include "frugal/kernels/cpu/openmp_spin.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <limits>
#include <string>

namespace frugal::kernels {
namespace {

// Saves one variable and restores it when the test ends.
class SavedVariable {
 public:
  explicit SavedVariable(std::string name) : name_(std::move(name)) {
    const char* v = std::getenv(name_.c_str());
    if (v) value_ = v;
    had_ = v != nullptr;
  }
  ~SavedVariable() {
    if (had_)
      setenv(name_.c_str(), value_.c_str(), 1);
    else
      unsetenv(name_.c_str());
  }

 private:
  std::string name_, value_;
  bool had_ = false;
};

const EnvironmentDefault* find(const std::vector<EnvironmentDefault>& all,
                               const std::string& name) {
  for (const auto& e : all)
    if (e.name == name) return &e;
  return nullptr;
}

// The cpu backend's OpenMP spin default is registered, and it yields to the user's choice.
TEST(ThreadEnvironment, CpuSpinDefaultSetUnlessTheUserChose) {
  const auto all = thread_environment();
  const EnvironmentDefault* spin = find(all, "GOMP_SPINCOUNT");
  ASSERT_NE(spin, nullptr);
  EXPECT_EQ(spin->value, "10000");
  ASSERT_EQ(spin->user_choices.size(), 1u);
  EXPECT_EQ(spin->user_choices[0], "OMP_WAIT_POLICY");
  // Chosen from the machine's load when applied: the quiet or the busy spin.
  ASSERT_NE(spin->choose, nullptr);
  const std::string chosen = spin->choose();
  EXPECT_TRUE(chosen == cpu::kQuietSpinCount || chosen == cpu::kBusySpinCount) << chosen;

  SavedVariable keep_spin("GOMP_SPINCOUNT"), keep_policy("OMP_WAIT_POLICY");
  unsetenv("GOMP_SPINCOUNT");
  unsetenv("OMP_WAIT_POLICY");
  auto set = set_thread_environment_defaults();
  ASSERT_EQ(set.size(), 1u);
  EXPECT_EQ(set[0], "GOMP_SPINCOUNT");
  ASSERT_NE(std::getenv("GOMP_SPINCOUNT"), nullptr);
  const std::string applied = std::getenv("GOMP_SPINCOUNT");
  EXPECT_TRUE(applied == cpu::kQuietSpinCount || applied == cpu::kBusySpinCount) << applied;
  // Set once: a second call (the re-executed program) changes nothing, so no exec loop.
  EXPECT_TRUE(set_thread_environment_defaults().empty());

  // The user's own spin count stays.
  setenv("GOMP_SPINCOUNT", "7", 1);
  EXPECT_TRUE(set_thread_environment_defaults().empty());
  EXPECT_STREQ(std::getenv("GOMP_SPINCOUNT"), "7");

  // A user who chose a wait policy gets no spin count from frugal.
  unsetenv("GOMP_SPINCOUNT");
  setenv("OMP_WAIT_POLICY", "passive", 1);
  EXPECT_TRUE(set_thread_environment_defaults().empty());
  EXPECT_EQ(std::getenv("GOMP_SPINCOUNT"), nullptr);
  // What is in effect is what the user set.
  const auto in_effect = thread_environment_in_effect();
  const std::pair<std::string, std::string> policy{"OMP_WAIT_POLICY", "passive"};
  EXPECT_NE(std::find(in_effect.begin(), in_effect.end(), policy), in_effect.end());
  for (const auto& [name, value] : in_effect) EXPECT_NE(name, "GOMP_SPINCOUNT") << value;
}

// The spin's policy over made-up machines: short spin while quiet or moderately loaded, none
// once the load exceeds twice the CPUs (other processes then take the cores the spinning
// worker holds).
TEST(ThreadEnvironment, SpinCountFollowsTheLoad) {
  EXPECT_STREQ(cpu::kQuietSpinCount, "10000");
  EXPECT_STREQ(cpu::kBusySpinCount, "0");
  EXPECT_EQ(cpu::openmp_spin_count(0.0, 2), cpu::kQuietSpinCount);
  EXPECT_EQ(cpu::openmp_spin_count(2.0, 2), cpu::kQuietSpinCount);  // its own 2-thread runs
  EXPECT_EQ(cpu::openmp_spin_count(3.7, 2), cpu::kQuietSpinCount);
  EXPECT_EQ(cpu::openmp_spin_count(4.0, 2), cpu::kQuietSpinCount);  // exactly twice: not above
  EXPECT_EQ(cpu::openmp_spin_count(4.01, 2), cpu::kBusySpinCount);
  EXPECT_EQ(cpu::openmp_spin_count(11.5, 2), cpu::kBusySpinCount);
  EXPECT_EQ(cpu::openmp_spin_count(11.5, 64), cpu::kQuietSpinCount);
  EXPECT_EQ(cpu::openmp_spin_count(2.5, 1), cpu::kBusySpinCount);
  // Unknown load or CPU count: the quiet default.
  EXPECT_EQ(cpu::openmp_spin_count(-1.0, 2), cpu::kQuietSpinCount);
  EXPECT_EQ(cpu::openmp_spin_count(50.0, 0), cpu::kQuietSpinCount);
}

// How long workers stay awake, as libgomp reads its environment, and the share of a
// streaming pass worth a thread that follows from it.
TEST(ThreadEnvironment, WorkersAwakeAsLibgompReadsTheEnvironment) {
  const double forever = std::numeric_limits<double>::infinity();
  EXPECT_DOUBLE_EQ(cpu::openmp_awake_us(nullptr, nullptr), 3000.0);  // libgomp's 300,000
  EXPECT_DOUBLE_EQ(cpu::openmp_awake_us(nullptr, cpu::kQuietSpinCount), 100.0);
  EXPECT_DOUBLE_EQ(cpu::openmp_awake_us(nullptr, cpu::kBusySpinCount), 0.0);
  EXPECT_DOUBLE_EQ(cpu::openmp_awake_us(nullptr, "0k"), 0.0);
  EXPECT_DOUBLE_EQ(cpu::openmp_awake_us(nullptr, "20k"), 200.0);
  EXPECT_DOUBLE_EQ(cpu::openmp_awake_us(nullptr, "1M"), 10000.0);
  EXPECT_EQ(cpu::openmp_awake_us(nullptr, "infinite"), forever);
  EXPECT_EQ(cpu::openmp_awake_us("active", nullptr), forever);
  EXPECT_DOUBLE_EQ(cpu::openmp_awake_us("passive", nullptr), 0.0);
  EXPECT_DOUBLE_EQ(cpu::openmp_awake_us("PASSIVE", "10000"), 10000 * 0.01);  // count wins
  EXPECT_EQ(cpu::min_floats_per_thread(true), int64_t{1} << 14);
  EXPECT_EQ(cpu::min_floats_per_thread(false), int64_t{1} << 18);
}

}  // namespace
}  // namespace frugal::kernels
