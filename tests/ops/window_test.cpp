#include "shape_ops_testing.h"

using namespace frugal;
using namespace frugal::shape_ops_testing;

namespace {
Tensor size(int64_t n) {
  return Tensor::scalar<int64_t>(n);
}
Attrs symmetric() {
  return {{"periodic", a_int(0)}};
}
}  // namespace

TEST(Windows, PeriodicAndSymmetricValues) {
  // Hann over 4 (periodic, N = 4): 0.5 - 0.5 cos(pi n / 2).
  expect_tensor(run("HannWindow", {size(4)}, {}, 17), {4}, {0, 0.5, 1, 0.5}, 1e-6);
  expect_tensor(run("HannWindow", {size(5)}, symmetric(), 17), {5}, {0, 0.5, 1, 0.5, 0}, 1e-6);
  // Hamming: 25/46 - 21/46 cos: 4/46 at the ends.
  expect_tensor(run("HammingWindow", {size(4)}, {}, 17), {4}, {4.0 / 46, 25.0 / 46, 1, 25.0 / 46},
                1e-6);
  // Blackman: 0.42 - 0.5 cos + 0.08 cos(2x): 0, 0.34, 1, 0.34.
  expect_tensor(run("BlackmanWindow", {size(4)}, {}, 17), {4}, {0, 0.34, 1, 0.34}, 1e-6);
  expect_tensor(run("BlackmanWindow", {Tensor::scalar<int32_t>(3)}, symmetric(), 17), {3},
                {0, 1, 0}, 1e-6);
}

TEST(Windows, DtypesAndEdgeSizes) {
  Tensor d = run("HannWindow", {size(2)}, {{"output_datatype", a_int(11)}}, 17);
  EXPECT_EQ(d.dtype(), DType::kF64);
  expect_tensor(d, {2}, {0, 1}, 1e-12);
  // Integer output truncates.
  Tensor i = run("HannWindow", {size(4)}, {{"output_datatype", a_int(6)}}, 17);
  EXPECT_EQ(values<int32_t>(i), (std::vector<int32_t>{0, 0, 1, 0}));
  expect_tensor(run("HammingWindow", {size(1)}, symmetric(), 17), {1}, {1});
  EXPECT_EQ(run("HannWindow", {size(0)}, {}, 17).shape(), (Shape{0}));
}

TEST(Windows, RejectsBadSizes) {
  expect_user_error([&] { run("HannWindow", {size(-1)}, {}, 17); }, "negative");
  expect_user_error([&] { run("HannWindow", {f32({}, {4})}, {}, 17); }, "int32 or int64");
  expect_user_error(
      [&] {
        run("HannWindow", {size(4)}, {{"output_datatype", a_int(8)}}, 17);
      },
      "output_datatype");
  EXPECT_THROW(infer_only("BlackmanWindow", {size(4)}, {false}, {}, 17), ops::DataDependentShape);
}
