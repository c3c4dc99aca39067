// The cpu backend's Slice, Gather and Pad copies (slice_gather_kernels.cpp, pad_kernel.cpp)
// against ref: ranks 1 to 5, batch 1/3, windows with positive and negative steps, clamped
// and negative bounds, omitted axes/steps, the opset-9 attribute form; Gather on every axis
// with constant and run-time, negative, int32 and scalar indices; Pad in every mode, with
// crops, axes (opset 18) and the opset-2 attributes; dtypes of 1, 2, 4 and 8 bytes; 1 and 2
// threads on a NaN-poisoned arena. A copy is exact: results must be bit-identical.
#include <gtest/gtest.h>

#include "kernels/cpu_testing.h"

using namespace frugal;
using namespace frugal::cpu_testing;

namespace {

Tensor i64(const std::vector<int64_t>& v) {
  return Tensor::from_vector<int64_t>({static_cast<int64_t>(v.size())}, v);
}

// Runs on cpu (1 and 2 threads) and ref; expects the node on cpu and the same values.
void expect_exact_on_cpu(const OneNode& t, const std::string& label) {
  for (int threads : {1, 2}) {
    const CpuAndRef r = run_cpu_and_ref(t.graph, t.feeds, threads);
    const auto& a = r.cpu->assignments().at(0);
    EXPECT_EQ(a.backend, "cpu") << label << ": " << (a.declined.empty() ? "" : a.declined[0]);
    ASSERT_EQ(r.got.size(), 1u);
    EXPECT_EQ(r.got[0].dtype(), r.want[0].dtype()) << label;
    EXPECT_EQ(relative_error(r.got[0], r.want[0]), 0.0) << label << " threads " << threads;
  }
}

struct SliceCase {
  Shape x;
  std::vector<int64_t> starts, ends, axes, steps;  // axes/steps empty: omitted
};

std::vector<SliceCase> slice_cases() {
  return {
      {{17}, {2}, {15}, {}, {}},
      {{17}, {-1}, {-100}, {0}, {-2}},
      {{3, 33}, {1}, {30}, {1}, {3}},
      {{3, 33}, {0, 5}, {2, 1000}, {}, {}},
      {{1, 8, 7, 5}, {2}, {6}, {1}, {}},                   // channel window, rows of 35
      {{3, 8, 7, 5}, {1, -2}, {7, 1}, {-1, -2}, {2, -1}},  // backward on axis 2
      {{3, 64, 56, 56}, {16}, {48}, {1}, {}},              // large: split over threads
      {{3, 4, 5, 6, 7}, {1, 0, 6}, {3, 4, 0}, {1, 3, 4}, {1, 2, -3}},
      {{1, 384, 768}, {0}, {1}, {1}, {}},  // BERT's CLS token
  };
}

OneNode slice_node(const SliceCase& c, const Tensor& x) {
  std::vector<Operand> ops{input("x", x), constant("starts", i64(c.starts)),
                           constant("ends", i64(c.ends))};
  if (!c.axes.empty()) ops.push_back(constant("axes", i64(c.axes)));
  if (!c.steps.empty()) {
    if (c.axes.empty()) ops.push_back(omitted());
    ops.push_back(constant("steps", i64(c.steps)));
  }
  return one_node("Slice", ops);
}

}  // namespace

TEST(CpuSlice, MatchesRefOverWindowsAndDtypes) {
  int seed = 0;
  for (const SliceCase& c : slice_cases())
    for (DType dt : {DType::kF32, DType::kI64, DType::kI16, DType::kU8}) {
      if (dt != DType::kF32 && shape_numel(c.x) > 100000) continue;  // once is enough
      const Tensor x = uniform_tensor(c.x, ++seed, -100, 100).cast(dt);
      expect_exact_on_cpu(slice_node(c, x),
                          "Slice " + shape_str(c.x) + " " + std::string(dtype_name(dt)));
    }
}

TEST(CpuSlice, Opset9AttributesAndDeclines) {
  const Tensor x = random_tensor({2, 6, 9}, 1);
  expect_exact_on_cpu(one_node("Slice", {input("x", x)},
                               {{"starts", attr(std::vector<int64_t>{1, -5})},
                                {"ends", attr(std::vector<int64_t>{6, 100})},
                                {"axes", attr(std::vector<int64_t>{1, 2})}},
                               9),
                      "opset 9");
  // Run-time starts: the output shape is known only at run time.
  const std::string why = cpu_decline_reason(
      one_node("Slice", {input("x", x), input("starts", i64({1})), constant("ends", i64({4}))}));
  EXPECT_NE(why.find("known only at run time"), std::string::npos) << why;
}

TEST(CpuGather, MatchesRefOverAxesAndIndices) {
  struct Case {
    Shape x;
    int64_t axis;
    Shape indices_shape;
  };
  const std::vector<Case> cases = {
      {{1000, 64}, 0, {2, 7}},                   // embedding lookup
      {{30, 768}, 0, {1, 384}},  {{17}, 0, {}},  // scalar index
      {{3, 8, 5}, 1, {4}},       {{3, 8, 5}, -1, {2, 3}},
      {{2, 3, 4, 5, 6}, 2, {3}}, {{1, 384, 768}, 1, {}},  // BERT pooler's first token
  };
  int seed = 50;
  for (const Case& c : cases) {
    const int64_t r = static_cast<int64_t>(c.x.size());
    const int64_t dim = c.x[static_cast<size_t>(c.axis < 0 ? c.axis + r : c.axis)];
    Tensor idx(DType::kI64, c.indices_shape);
    for (int64_t i = 0; i < idx.numel(); ++i)
      idx.data<int64_t>()[i] = (i * 7 + 3) % dim - (i % 3 == 1 ? dim : 0);  // some negative
    for (DType dt : {DType::kF32, DType::kI64})
      for (bool constant_idx : {true, false})
        for (DType idt : {DType::kI64, DType::kI32}) {
          if (constant_idx && idt == DType::kI32) continue;
          const Tensor x = uniform_tensor(c.x, ++seed, -50, 50).cast(dt);
          const Tensor ind = idx.cast(idt);
          const OneNode t = one_node(
              "Gather", {input("x", x), constant_idx ? constant("i", ind) : input("i", ind)},
              {{"axis", attr(c.axis)}});
          expect_exact_on_cpu(
              t, "Gather " + shape_str(c.x) + " axis " + std::to_string(c.axis) + " indices " +
                     shape_str(c.indices_shape) + (constant_idx ? " constant " : " input ") +
                     std::string(dtype_name(idt)) + " " + std::string(dtype_name(dt)));
        }
  }
}

TEST(CpuGather, OutOfRangeIndices) {
  const Tensor x = random_tensor({5, 4}, 1);
  runtime::SessionOptions opt;
  opt.backends = {"cpu", "ref"};
  // Constant: declined, so that ref reports it (when run).
  const OneNode c = one_node("Gather", {input("x", x), constant("i", i64({1, 5}))});
  const runtime::Session declining(c.graph, opt);
  const auto& declined = declining.assignments().at(0).declined;
  ASSERT_FALSE(declined.empty());
  EXPECT_NE(declined[0].find("index 5 out of range"), std::string::npos) << declined[0];
  // At run time: an error naming the node.
  const OneNode t = one_node("Gather", {input("x", x), input("i", i64({-6, 0}))});
  runtime::Session s(t.graph, opt);
  ASSERT_EQ(s.assignments().at(0).backend, "cpu");
  try {
    s.run(t.feeds);
    ADD_FAILURE() << "no error";
  } catch (const UserError& e) {
    EXPECT_NE(std::string(e.what()).find("index -6 is out of range"), std::string::npos)
        << e.what();
  }
}

namespace {

struct PadCase {
  Shape x;
  std::vector<int64_t> pads;  // ONNX order: all begins, then all ends
  std::vector<int64_t> axes;  // empty: every axis
};

}  // namespace

TEST(CpuPad, MatchesRefOverModesShapesAndDtypes) {
  const std::vector<PadCase> cases = {
      {{9}, {2, 3}, {}},
      {{3, 7}, {1, 0, 0, 4}, {}},
      {{1, 3, 8, 8}, {0, 0, 1, 1, 0, 0, 1, 1}, {}},  // a Conv's explicit padding
      {{3, 5, 6, 7}, {0, 0, 2, 0, 0, 0, 1, 3}, {}},
      {{3, 5, 6, 7}, {0, 0, -1, 2, 0, 0, 2, -2}, {}},   // crop and pad
      {{2, 3, 4, 5, 6}, {1, 2, 2, 1}, {2, -1}},         // opset 18 axes
      {{3, 64, 56, 56}, {0, 0, 1, 1, 0, 0, 1, 1}, {}},  // large: split over threads
  };
  int seed = 0;
  for (const PadCase& c : cases)
    for (const char* mode : {"constant", "reflect", "edge", "wrap"})
      for (DType dt : {DType::kF32, DType::kI64, DType::kI16, DType::kU8}) {
        if (dt != DType::kF32 && (shape_numel(c.x) > 100000 || std::string(mode) != "constant"))
          continue;
        const Tensor x = uniform_tensor(c.x, ++seed, -100, 100).cast(dt);
        std::vector<Operand> ops{input("x", x), constant("pads", i64(c.pads))};
        if (std::string(mode) == "constant")
          ops.push_back(constant("v", Tensor::from_vector<float>({}, {2.5f}).cast(dt)));
        else if (!c.axes.empty())
          ops.push_back(omitted());
        if (!c.axes.empty()) ops.push_back(constant("axes", i64(c.axes)));
        expect_exact_on_cpu(
            one_node("Pad", ops, {{"mode", attr(std::string(mode))}}, 18),
            "Pad " + shape_str(c.x) + " " + mode + " " + std::string(dtype_name(dt)));
      }
}

TEST(CpuPad, Opset2AttributesDefaultFillAndDeclines) {
  const Tensor x = random_tensor({2, 3, 5}, 1);
  expect_exact_on_cpu(
      one_node("Pad", {input("x", x)},
               {{"pads", attr(std::vector<int64_t>{0, 1, 2, 0, 1, 0})}, {"value", attr(-1.0f)}}, 2),
      "opset 2");
  expect_exact_on_cpu(
      one_node("Pad", {input("x", x), constant("pads", i64({0, 0, 1, 0, 0, 1}))}, {}, 13),
      "default fill");
  const std::string why =
      cpu_decline_reason(one_node("Pad",
                                  {input("x", x), constant("pads", i64({0, 0, 1, 0, 0, 1})),
                                   input("v", Tensor::from_vector<float>({}, {3.0f}))},
                                  {}, 13));
  EXPECT_NE(why.find("constant_value known only at run time"), std::string::npos) << why;
}
