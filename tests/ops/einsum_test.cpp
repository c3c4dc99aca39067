#include "shape_ops_testing.h"

using namespace frugal;
using namespace frugal::shape_ops_testing;

namespace {
Tensor einsum(const std::string& eq, const std::vector<Tensor>& in) {
  return run("Einsum", in, {{"equation", a_str(eq)}}, 12);
}
}  // namespace

TEST(Einsum, ProductsAndReductions) {
  Tensor a = iota({2, 3}), b = iota({3, 2});
  expect_tensor(einsum("ij,jk->ik", {a, b}), {2, 2}, {10, 13, 28, 40});
  expect_tensor(einsum("ij,jk", {a, b}), {2, 2}, {10, 13, 28, 40});
  expect_tensor(einsum("ij->ji", {a}), {3, 2}, {0, 3, 1, 4, 2, 5});
  expect_tensor(einsum("ij->", {a}), {}, {15});
  expect_tensor(einsum("ij->j", {a}), {3}, {3, 5, 7});
  expect_tensor(einsum("i,i", {iota({3}), iota({3})}), {}, {5});
  expect_tensor(einsum("i,j->ij", {iota({2}), f32({3}, {1, 2, 3})}), {2, 3}, {0, 0, 0, 1, 2, 3});
  // Implicit output: labels in alphabetical order, so "ba" transposes.
  expect_tensor(einsum("ba", {a}), {3, 2}, {0, 3, 1, 4, 2, 5});
}

TEST(Einsum, DiagonalsBatchesAndEllipsis) {
  Tensor m = iota({3, 3});
  expect_tensor(einsum("ii->i", {m}), {3}, {0, 4, 8});
  expect_tensor(einsum("ii", {m}), {}, {12});
  Tensor x = iota({2, 2, 2}), y = f32({2, 2, 1}, {1, 1, 1, -1});
  expect_tensor(einsum("bij,bjk->bik", {x, y}), {2, 2, 1}, {1, 5, -1, -1});
  // "..." broadcasts: [2, 1, 2] x [2, 1] over the batch.
  expect_tensor(einsum("...ij,jk->...ik", {iota({2, 1, 2}), f32({2, 1}, {1, 10})}), {2, 1, 1},
                {10, 32});
  expect_tensor(einsum("...j,...j->...", {iota({2, 2}), f32({1, 2}, {1, 1})}), {2}, {1, 5});
  Tensor i = Tensor::from_vector<int64_t>({2}, {3, -4});
  expect_tensor(einsum("i,i->", {i, i}), {}, {25}, 0);
}

TEST(Einsum, RejectsBadEquations) {
  Tensor a = iota({2, 3});
  expect_user_error([&] { einsum("ij,jk->ik", {a, iota({2, 2})}); }, "label 'j'");
  expect_user_error([&] { einsum("ij,jk", {a}); }, "terms");
  expect_user_error([&] { einsum("ijk", {a}); }, "does not match");
  expect_user_error([&] { einsum("i1", {iota({2, 2})}); }, "unexpected character");
  expect_user_error([&] { einsum("ij->k", {a}); }, "output label");
}
