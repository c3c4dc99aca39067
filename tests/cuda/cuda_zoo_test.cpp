// The zoo CNNs end to end on the cuda backend (graph passes on) against ref on the graph as
// built: every compute node on the GPU, logits within 1e-4 of max |ref| in float32, within
// 64 unit roundoffs of the format in tf32, fp16 and bf16. Skipped without a GPU.
#include <gtest/gtest.h>

#include <iostream>
#include <set>

#include "cuda/cuda_testing.h"
#include "frugal/zoo/zoo.h"
#include "kernels/cpu_testing.h"

using namespace frugal;
using namespace frugal::cpu_testing;
using namespace frugal::cuda_testing;

namespace {

const std::set<std::string> kGpuOps = {"Conv",
                                       "Gemm",
                                       "MatMul",
                                       "MaxPool",
                                       "AveragePool",
                                       "GlobalAveragePool",
                                       "Relu",
                                       "Clip",
                                       "Add",
                                       "Mul",
                                       "Concat",
                                       "Flatten",
                                       "Reshape",
                                       "Sigmoid",
                                       "HardSwish",
                                       "HardSigmoid",
                                       "Transpose",
                                       "Softmax",
                                       "LayerNormalization",
                                       "Gelu"};

Tensor run_model(const ir::Graph& g, const Tensor& x, std::vector<std::string> backends,
                 bool optimize, std::vector<runtime::NodeAssignment>* assignments = nullptr) {
  runtime::SessionOptions opt;
  opt.backends = std::move(backends);
  opt.optimize = optimize;
  runtime::Session s(g, opt);
  if (assignments) *assignments = s.assignments();
  return s.run({x})[0];
}

class CudaZoo : public ::testing::TestWithParam<std::string> {};

}  // namespace

TEST_P(CudaZoo, MatchesRef) {
  FRUGAL_SKIP_WITHOUT_GPU();
  const std::string name = GetParam();
  const ir::Graph g = zoo::build(name, 3);
  runtime::Session shapes(g, runtime::SessionOptions{});
  const Tensor x = random_tensor(shapes.inputs()[0].shape, 77);
  const Tensor ref = run_model(g, x, {"ref"}, false);
  for (const std::string backend : {"cuda", "cuda:tf32", "cuda:fp16", "cuda:bf16"}) {
    std::vector<runtime::NodeAssignment> as;
    const Tensor got = run_model(g, x, {backend, "ref"}, true, &as);
    for (const auto& a : as)
      if (kGpuOps.count(a.op_type)) {
        EXPECT_EQ(a.backend, backend) << name << ": " << a.node_name << " ("
                                      << (a.declined.empty() ? "" : a.declined[0]) << ")";
      }
    const double err = relative_error(got, ref);
    const double tol = backend == "cuda" ? 1e-4 : 64 * unit_roundoff(backend);
    EXPECT_LE(err, tol) << name << " on " << backend;
    std::cout << "[ observed ] " << name << " " << backend
              << ": max|gpu - ref| / max|ref| = " << err << "\n";
  }
}

INSTANTIATE_TEST_SUITE_P(CNNs, CudaZoo,
                         ::testing::Values("resnet18", "resnet50", "mobilenet_v2",
                                           "mobilenet_v3_small", "squeezenet1_1",
                                           "shufflenet_v2_x1_0", "efficientnet_b0",
                                           "convnext_tiny"),
                         [](const auto& info) { return info.param; });
