#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <vector>

#include "frugal/measure/clock.h"
#include "frugal/measure/sysinfo.h"

using namespace frugal::measure;

TEST(SysInfo, ParsesCpuinfo) {
  const std::string text =
      "processor\t: 0\nvendor_id\t: GenuineIntel\nmodel name\t: Intel(R) Xeon(R) Gold 6430\n"
      "physical id\t: 0\ncore id\t\t: 0\nflags\t\t: fpu sse avx2 f16c avx512f avx512_vnni "
      "amx_tile amx_int8 amx_bf16 avx512_bf16\n\n"
      "processor\t: 1\nmodel name\t: Intel(R) Xeon(R) Gold 6430\nphysical id\t: 0\n"
      "core id\t\t: 0\nflags\t\t: fpu\n\n"
      "processor\t: 2\nmodel name\t: Intel(R) Xeon(R) Gold 6430\nphysical id\t: 0\n"
      "core id\t\t: 1\nflags\t\t: fpu\n";
  const CpuInfo c = parse_cpuinfo(text);
  EXPECT_EQ(c.model_name, "Intel(R) Xeon(R) Gold 6430");
  EXPECT_EQ(c.logical_cpus, 3);
  EXPECT_EQ(c.physical_cores, 2);
  const std::vector<std::string> want = {"avx2",        "f16c",     "avx512f",  "avx512_vnni",
                                         "avx512_bf16", "amx_tile", "amx_bf16", "amx_int8"};
  EXPECT_EQ(c.flags, want);
}

TEST(SysInfo, DescribesThisMachine) {
  const SystemInfo s = describe_system();
  EXPECT_FALSE(s.cpu.model_name.empty());
  EXPECT_GT(s.cpu.logical_cpus, 0);
  EXPECT_GT(s.online_cpus, 0);
  EXPECT_EQ(s.kernel.rfind("Linux ", 0), 0u);
  EXPECT_FALSE(s.hostname.empty());
  EXPECT_TRUE(to_json(s).contains("cpu_flags"));
#if defined(__x86_64__)
  // The kernel derives its flags from cpuid and may hide some, never add.
  const auto from_cpuid = cpuid_flags();
  for (const auto& f : s.cpu.flags)
    EXPECT_NE(std::find(from_cpuid.begin(), from_cpuid.end(), f), from_cpuid.end()) << f;
#endif
}

TEST(SysInfo, ParsesStatusFields) {
  const std::string status =
      "Name:\ttest\nVmPeak:\t  9000 kB\nVmHWM:\t    2196 kB\nVmRSS:\t 2000 kB\n";
  EXPECT_EQ(parse_status_kib_field(status, "VmHWM"), 2196 * 1024);
  EXPECT_EQ(parse_status_kib_field(status, "VmRSS"), 2000 * 1024);
  EXPECT_FALSE(parse_status_kib_field(status, "VmSwap").has_value());
  EXPECT_FALSE(parse_status_kib_field(status, "Vm").has_value());
}

TEST(SysInfo, PeakRssRisesAndResets) {
  const auto before = peak_rss_bytes();
  ASSERT_TRUE(before.has_value());
  constexpr size_t kBytes = 96 << 20;
  {
    std::vector<char> block(kBytes);
    std::memset(block.data(), 1, block.size());  // touch every page
    const auto during = peak_rss_bytes();
    ASSERT_TRUE(during.has_value());
    EXPECT_GE(*during, *before + static_cast<int64_t>(kBytes) - (8 << 20));
  }
  const auto peak = *peak_rss_bytes();
  const PeakRssReset reset = reset_peak_rss();
  if (!reset.ok) GTEST_SKIP() << "peak RSS reset not permitted here: " << reset.reason;
  const auto after = peak_rss_bytes();
  ASSERT_TRUE(after.has_value());
  EXPECT_LT(*after, peak - static_cast<int64_t>(kBytes) / 2);
}

TEST(Clock, StopwatchMeasuresASleep) {
  Stopwatch w;
  sleep_seconds(0.02);
  const double s = w.elapsed_s();
  EXPECT_GE(s, 0.02);
  EXPECT_LT(s, 1.0);
  EXPECT_GT(measured_clock_resolution_s(), 0.0);
  EXPECT_LT(measured_clock_resolution_s(), 1e-3);
}
