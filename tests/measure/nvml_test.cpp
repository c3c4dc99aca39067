#include <gtest/gtest.h>

#include <dlfcn.h>

#include <string>

#include "frugal/core/error.h"
#include "frugal/measure/nvml_meter.h"

using namespace frugal::measure;

TEST(Nvml, AbsentLibraryGivesAClearMessage) {
  NvmlOptions o;
  o.library = "libfrugal-test-absent-nvml.so.1";
  try {
    NvmlMeter m(o);
    FAIL() << "expected UserError";
  } catch (const frugal::UserError& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("cannot load libfrugal-test-absent-nvml.so.1"), std::string::npos) << msg;
    EXPECT_NE(msg.find("no NVIDIA driver"), std::string::npos) << msg;
  }
}

TEST(Nvml, DefaultLibraryOnAMachineWithoutDriver) {
  if (void* h = dlopen("libnvidia-ml.so.1", RTLD_NOW)) {
    dlclose(h);
    GTEST_SKIP() << "an NVIDIA driver is installed here";
  }
  EXPECT_THROW(NvmlMeter(), frugal::UserError);
}

// A library that loads but is not NVML: the missing symbol is named.
TEST(Nvml, LibraryWithoutNvmlSymbolsIsNamed) {
  NvmlOptions o;
  o.library = "libz.so.1";
  try {
    NvmlMeter m(o);
    FAIL() << "expected UserError";
  } catch (const frugal::UserError& e) {
    EXPECT_NE(std::string(e.what()).find("has no symbol nvmlInit_v2"), std::string::npos)
        << e.what();
  }
}
