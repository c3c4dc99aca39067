// runtime/compile_stages.h: each Session's compile records its named stages, in order, on
// the thread that compiled it; the next compile on that thread replaces them.
#include <gtest/gtest.h>

#include <thread>

#include "frugal/runtime/compile_stages.h"
#include "frugal/runtime/session.h"
#include "frugal/zoo/zoo.h"

using namespace frugal;

TEST(CompileStages, EachStageOfTheLastCompileInOrder) {
  const std::vector<std::string> want{"fold_qdq",  "optimize",      "place",
                                      "negotiate", "finish_builds", "memory"};
  runtime::SessionOptions opt;
  opt.backends = {"cpu", "ref"};
  for (const char* model : {"lenet5", "resnet8_fmnist"}) {
    const double cpu_before = runtime::thread_cpu_ms();
    runtime::Session s(zoo::build(model, 0), opt);
    const double cpu_spent = runtime::thread_cpu_ms() - cpu_before;
    const auto& stages = runtime::last_compile_stages();
    ASSERT_EQ(stages.size(), want.size()) << model;
    double cpu_sum = 0;
    for (size_t i = 0; i < want.size(); ++i) {
      EXPECT_EQ(stages[i].stage, want[i]) << model;
      EXPECT_GE(stages[i].cpu_ms, 0.0) << model << " " << want[i];
      EXPECT_GE(stages[i].wall_ms, 0.0) << model << " " << want[i];
      cpu_sum += stages[i].cpu_ms;
    }
    // The stages are part of the Session's construction, and placing kernels costs time.
    EXPECT_LE(cpu_sum, cpu_spent + 1e-3) << model;
    EXPECT_GT(stages[2].cpu_ms, 0.0) << model;
  }
  // Another thread's compile leaves this thread's record alone.
  const auto mine = runtime::last_compile_stages().size();
  std::thread([&] {
    EXPECT_TRUE(runtime::last_compile_stages().empty());
    runtime::Session s(zoo::build("lenet5", 0), opt);
    EXPECT_EQ(runtime::last_compile_stages().size(), want.size());
  }).join();
  EXPECT_EQ(runtime::last_compile_stages().size(), mine);
}
