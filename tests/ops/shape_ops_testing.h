// Helpers for the shape, data-movement, reduction and resize operator tests: build a
// node, run it through ops::evaluate, compare values, check errors and inference.
#pragma once

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <map>
#include <string>
#include <vector>

#include "frugal/ops/op.h"

namespace frugal::shape_ops_testing {

using Attrs = std::map<std::string, ir::Attribute>;

inline ir::Attribute a_int(int64_t v) {
  return ir::Attribute{.value = v};
}
inline ir::Attribute a_float(float v) {
  return ir::Attribute{.value = v};
}
inline ir::Attribute a_str(std::string v) {
  return ir::Attribute{.value = std::move(v)};
}
inline ir::Attribute a_ints(std::vector<int64_t> v) {
  return ir::Attribute{.value = std::move(v)};
}
inline ir::Attribute a_floats(std::vector<float> v) {
  return ir::Attribute{.value = std::move(v)};
}
inline ir::Attribute a_tensor(Tensor t) {
  return ir::Attribute{.value = std::move(t)};
}

// A node named "t" with inputs "x0".."x{n-1}" (an undefined tensor in run() marks an
// omitted optional input) and outputs "y0".."y{m-1}".
inline ir::Node make_node(const std::string& op_type, size_t num_inputs, Attrs attrs = {},
                          size_t num_outputs = 1) {
  ir::Node n{.name = "t", .op_type = op_type, .attrs = std::move(attrs)};
  for (size_t i = 0; i < num_inputs; ++i) n.inputs.push_back("x" + std::to_string(i));
  for (size_t i = 0; i < num_outputs; ++i) n.outputs.push_back("y" + std::to_string(i));
  return n;
}

inline std::vector<Tensor> run_all(const std::string& op_type, const std::vector<Tensor>& inputs,
                                   Attrs attrs, int64_t opset, size_t num_outputs) {
  ir::Node n = make_node(op_type, inputs.size(), std::move(attrs), num_outputs);
  for (size_t i = 0; i < inputs.size(); ++i)
    if (!inputs[i].defined()) n.inputs[i].clear();
  return ops::evaluate(n, opset, inputs);
}

inline Tensor run(const std::string& op_type, const std::vector<Tensor>& inputs, Attrs attrs = {},
                  int64_t opset = 18) {
  return run_all(op_type, inputs, std::move(attrs), opset, 1).at(0);
}

inline Tensor f32(Shape shape, std::vector<float> v) {
  return Tensor::from_vector<float>(std::move(shape), v);
}
inline Tensor i64(Shape shape, std::vector<int64_t> v) {
  return Tensor::from_vector<int64_t>(std::move(shape), v);
}
inline Tensor i64s(std::vector<int64_t> v) {  // a 1-D int64 list (shape, axes, pads...)
  const int64_t n = static_cast<int64_t>(v.size());
  return Tensor::from_vector<int64_t>({n}, v);
}
// 0, 1, 2, ... as float32 of the given shape.
inline Tensor iota(Shape shape) {
  Tensor t(DType::kF32, std::move(shape));
  float* d = t.data<float>();
  for (int64_t i = 0; i < t.numel(); ++i) d[i] = static_cast<float>(i);
  return t;
}

template <typename T>
std::vector<T> values(const Tensor& t) {
  auto s = t.span<T>();
  return {s.begin(), s.end()};
}

// Shape and values within tol * max(1, |want|); NaN matches NaN, infinities match exactly.
inline void expect_tensor(const Tensor& got, const Shape& shape, const std::vector<double>& want,
                          double tol = 1e-6) {
  ASSERT_EQ(got.shape(), shape);
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

// Expects a UserError (not only an UnsupportedError) whose message names node 't'.
template <typename F>
void expect_user_error(F&& f, const std::string& fragment = "") {
  try {
    f();
    ADD_FAILURE() << "expected a UserError";
  } catch (const UnsupportedError& e) {
    ADD_FAILURE() << "expected a UserError, got UnsupportedError: " << e.what();
  } catch (const UserError& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("node 't'"), std::string::npos) << msg;
    EXPECT_NE(msg.find(fragment), std::string::npos) << msg;
  }
}

template <typename F>
void expect_unsupported(F&& f) {
  try {
    f();
    ADD_FAILURE() << "expected an UnsupportedError";
  } catch (const UnsupportedError& e) {
    EXPECT_NE(std::string(e.what()).find("node 't'"), std::string::npos) << e.what();
  }
}

// Shape inference alone, with some inputs' contents unknown (`known[i]` false): returns
// the inferred outputs, or throws what infer throws (DataDependentShape included).
struct Inferred {
  std::vector<ops::TensorInfo> outputs;
};
inline Inferred infer_only(const std::string& op_type, const std::vector<Tensor>& inputs,
                           const std::vector<bool>& known, Attrs attrs = {}, int64_t opset = 18,
                           size_t num_outputs = 1) {
  const ir::Node node = make_node(op_type, inputs.size(), std::move(attrs), num_outputs);
  std::vector<ops::TensorInfo> infos(inputs.size());
  std::vector<const ops::TensorInfo*> ptrs;
  for (size_t i = 0; i < inputs.size(); ++i) {
    infos[i].dtype = inputs[i].dtype();
    infos[i].shape = inputs[i].shape();
    if (known[i]) infos[i].value = inputs[i];
    ptrs.push_back(&infos[i]);
  }
  ops::InferContext ctx(node, opset, ptrs);
  ops::find_op("", op_type)->infer(ctx);
  return {ctx.outputs()};
}

}  // namespace frugal::shape_ops_testing
