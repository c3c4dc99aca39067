// Huge pages for large buffers (core/host_memory.h): the advice covers exactly the whole
// 2 MiB pages inside a range, nothing below 2 MiB, and large tensors start on a 2 MiB
// boundary so that the advice covers all of them.
#include <gtest/gtest.h>

#include <sys/mman.h>

#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <string>

#include "frugal/core/device.h"
#include "frugal/core/host_memory.h"
#include "frugal/core/tensor.h"

using namespace frugal;

namespace {

constexpr size_t kMiB = size_t{1} << 20;

// Linux's transparent huge pages present and not "never" (madvise then succeeds).
bool thp_available() {
  std::ifstream in("/sys/kernel/mm/transparent_hugepage/enabled");
  std::string mode;
  if (!std::getline(in, mode)) return false;
  return mode.find("[never]") == std::string::npos;
}

bool huge_pages_switched_off() {
  const char* v = std::getenv("FRUGAL_HUGE_PAGES");
  return v && std::string(v) == "0";
}

}  // namespace

TEST(HugePages, AdviceCoversTheWholeAlignedPagesOnly) {
  if (!thp_available() || huge_pages_switched_off())
    GTEST_SKIP() << "no transparent huge pages here (or FRUGAL_HUGE_PAGES=0): advice not tested";
  const size_t span = 8 * kMiB;
  void* raw = mmap(nullptr, span, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  ASSERT_NE(raw, MAP_FAILED);
  const uintptr_t base =
      (reinterpret_cast<uintptr_t>(raw) + 2 * kMiB - 1) / (2 * kMiB) * (2 * kMiB);
  char* p = reinterpret_cast<char*>(base);  // 2 MiB aligned, at least 6 MiB mapped after it
  EXPECT_EQ(advise_huge_pages(p, 4 * kMiB), 4 * kMiB);
  EXPECT_EQ(advise_huge_pages(p + 4096, 4 * kMiB), 2 * kMiB);  // [p + 2, p + 4) only
  EXPECT_EQ(advise_huge_pages(p + 4096, 4 * kMiB - 4096), 2 * kMiB);
  EXPECT_EQ(advise_huge_pages(p + 4096, 2 * kMiB), 0u);  // no whole page inside
  EXPECT_EQ(advise_huge_pages(p, 2 * kMiB - 1), 0u);
  EXPECT_EQ(advise_huge_pages(p, 64 * 1024), 0u);
  EXPECT_EQ(advise_huge_pages(nullptr, 4 * kMiB), 0u);
  munmap(raw, span);
}

TEST(HugePages, LargeTensorsAndArenasStartOnAHugePage) {
  if (huge_pages_switched_off()) GTEST_SKIP() << "FRUGAL_HUGE_PAGES=0: alignment not tested";
  EXPECT_EQ(huge_page_alignment(3 * kMiB, 64), 2 * kMiB);
  EXPECT_EQ(huge_page_alignment(kMiB, 64), 64u);
  const Tensor big = Tensor::uninitialized(DType::kF32, {3, 1024, 1024});  // 12 MiB
  EXPECT_EQ(reinterpret_cast<uintptr_t>(big.raw()) % (2 * kMiB), 0u);
  const Tensor small = Tensor::uninitialized(DType::kF32, {1000});
  EXPECT_EQ(reinterpret_cast<uintptr_t>(small.raw()) % kTensorAlignment, 0u);
  const std::shared_ptr<void> arena = host_device().allocate(5 * kMiB + 3);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(arena.get()) % (2 * kMiB), 0u);
  // Zero-filled as before, however it is aligned.
  const Tensor zeros(DType::kF32, {3, 1024, 1024});
  for (int64_t i = 0; i < zeros.numel(); i += 4099) ASSERT_EQ(zeros.data<float>()[i], 0.0f);
}
