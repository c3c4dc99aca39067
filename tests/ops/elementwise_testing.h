// Small helpers for the elementwise operator tests: build a node, run it through
// ops::evaluate, read results back, check errors.
#pragma once

#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "frugal/ops/op.h"

namespace frugal::elementwise_testing {

// A node named "t" with inputs "x0".."x{n-1}" and output "y". An empty string in
// `inputs` marks an omitted optional input.
inline ir::Node make_node(const std::string& op_type, std::vector<std::string> inputs,
                          std::map<std::string, ir::Attribute> attrs = {}) {
  return ir::Node{.name = "t",
                  .op_type = op_type,
                  .inputs = std::move(inputs),
                  .outputs = {"y"},
                  .attrs = std::move(attrs)};
}
inline ir::Node make_node(const std::string& op_type, size_t num_inputs,
                          std::map<std::string, ir::Attribute> attrs = {}) {
  std::vector<std::string> in;
  for (size_t i = 0; i < num_inputs; ++i) in.push_back("x" + std::to_string(i));
  return make_node(op_type, std::move(in), std::move(attrs));
}

inline ir::Attribute attr_int(int64_t v) {
  return ir::Attribute{.value = v};
}
inline ir::Attribute attr_float(float v) {
  return ir::Attribute{.value = v};
}

// Runs op_type on the inputs (at `opset`) and returns output 0.
inline Tensor run(const std::string& op_type, const std::vector<Tensor>& inputs,
                  std::map<std::string, ir::Attribute> attrs = {}, int64_t opset = 18) {
  return ops::evaluate(make_node(op_type, inputs.size(), std::move(attrs)), opset, inputs).at(0);
}

template <typename T>
std::vector<T> values(const Tensor& t) {
  auto s = t.span<T>();
  return {s.begin(), s.end()};
}

// Elementwise |got - want| <= tol * max(1, |want|); NaN matches NaN.
inline void expect_near(const Tensor& got, const std::vector<double>& want, double tol = 1e-6) {
  ASSERT_EQ(got.numel(), static_cast<int64_t>(want.size()));
  for (size_t i = 0; i < want.size(); ++i) {
    const double g = got.at_double(static_cast<int64_t>(i));
    if (std::isnan(want[i])) {
      EXPECT_TRUE(std::isnan(g)) << "element " << i << " is " << g << ", expected NaN";
    } else if (std::isinf(want[i])) {
      EXPECT_EQ(g, want[i]) << "element " << i;
    } else {
      EXPECT_NEAR(g, want[i], tol * std::max(1.0, std::fabs(want[i]))) << "element " << i;
    }
  }
}

// Expects a UserError whose message names the node ("'t'"); `unsupported` says whether
// it must be an UnsupportedError (declined) or must not be one (an invalid model).
inline void expect_user_error(const std::function<void()>& f, bool unsupported = false) {
  try {
    f();
    ADD_FAILURE() << "no error thrown";
  } catch (const UnsupportedError& e) {
    EXPECT_TRUE(unsupported) << "declined where an invalid-model error was expected: " << e.what();
    EXPECT_NE(std::string(e.what()).find("'t'"), std::string::npos) << e.what();
  } catch (const UserError& e) {
    EXPECT_FALSE(unsupported) << "invalid-model error where a decline was expected: " << e.what();
    EXPECT_NE(std::string(e.what()).find("'t'"), std::string::npos) << e.what();
  }
}

}  // namespace frugal::elementwise_testing
