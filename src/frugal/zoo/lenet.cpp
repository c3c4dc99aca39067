// LeNet-5 (LeCun et al. 1998) for 1x28x28 input: the first conv pads by 2 so that
// the classic 32x32 geometry (28x28 -> 14x14 -> 10x10 -> 5x5) is kept.
// 61,706 parameters. Initialization: PyTorch's nn.Conv2d and nn.Linear defaults (the
// reference implementations are plain PyTorch modules without an init override).
#include "frugal/zoo/builder.h"
#include "frugal/zoo/models.h"

namespace frugal::zoo {

ir::Graph build_lenet5(uint64_t seed) {
  GraphBuilder b("lenet5", seed);
  std::string x = b.add_input("input", {1, 1, 28, 28});
  x = b.add_conv("conv1", x, 6,
                 {.kernel = 5, .pad = 2, .bias = true, .init = ConvInit::kTorchDefault});
  x = b.add_relu("relu1", x);
  x = b.add_max_pool("pool1", x, 2, 2, 0);
  x = b.add_conv("conv2", x, 16, {.kernel = 5, .bias = true, .init = ConvInit::kTorchDefault});
  x = b.add_relu("relu2", x);
  x = b.add_max_pool("pool2", x, 2, 2, 0);
  x = b.add_flatten("flatten", x);
  x = b.add_linear("fc1", x, 120);
  x = b.add_relu("relu3", x);
  x = b.add_linear("fc2", x, 84);
  x = b.add_relu("relu4", x);
  x = b.add_linear("fc3", x, 10);
  return b.finish(x);
}

}  // namespace frugal::zoo
