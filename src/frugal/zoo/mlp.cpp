// LeNet-300-100 (LeCun et al. 1998): the fully connected 784-300-100-10 network for 28x28
// input, ReLU between layers; the FC-heavy model of the pruning literature (Han et al. 2015
// prune it to about 8 % of its weights). 266,610 parameters. logreg_fmnist: multinomial
// logistic regression on the 784 pixels (one Gemm, 7,850 parameters), the convex model of
// the HALP study (docs/training.md "HALP").
#include "frugal/zoo/builder.h"
#include "frugal/zoo/models.h"

namespace frugal::zoo {

ir::Graph build_lenet300_100(uint64_t seed) {
  GraphBuilder b("lenet300_100", seed);
  std::string x = b.add_input("input", {1, 1, 28, 28});
  x = b.add_flatten("flatten", x);
  x = b.add_linear("fc1", x, 300);
  x = b.add_relu("relu1", x);
  x = b.add_linear("fc2", x, 100);
  x = b.add_relu("relu2", x);
  x = b.add_linear("fc3", x, 10);
  return b.finish(x);
}

ir::Graph build_logreg_fmnist(uint64_t seed) {
  GraphBuilder b("logreg_fmnist", seed);
  std::string x = b.add_input("input", {1, 1, 28, 28});
  x = b.add_flatten("flatten", x);
  x = b.add_linear("fc", x, 10);
  return b.finish(x);
}

}  // namespace frugal::zoo
