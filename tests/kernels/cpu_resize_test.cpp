// Resize and Upsample on the cpu backend (resize_kernel.cpp) against ref: modes nearest
// (every nearest_mode) and linear, every coordinate transformation mode it implements,
// scales up, down and non-integer, sizes, opset-18 axes, Resize 10/11/13/18/19 and
// Upsample 7/9, 4-D and 5-D, batch 1 and 3, odd sizes, a plain input and a convolution's
// channels-last output (one-hot weights keep it exact), 1 and 2 threads, poisoned arena.
// Nearest copies are bit-exact.
#include <gtest/gtest.h>

#include "kernels/cpu_testing.h"

using namespace frugal;
using namespace frugal::cpu_testing;

namespace {

struct Resize {
  std::string op = "Resize";
  int64_t opset = 13;
  Shape x;
  std::vector<float> scales;   // as the node gives them (empty: sizes)
  std::vector<int64_t> sizes;  // idem
  std::map<std::string, ir::Attribute> attrs;
  bool after_conv = false;  // x comes from a 1x1 Conv (channels-last on this CPU)
};

Tensor floats(const std::vector<float>& v) {
  return Tensor::from_vector<float>({static_cast<int64_t>(v.size())}, v);
}

// The Resize/Upsample node's inputs after x, in its opset's form.
void add_size_inputs(ir::Graph& g, ir::Node& n, const Resize& c) {
  auto add = [&](const std::string& name, Tensor t) {
    g.initializers[name] = std::move(t);
    n.inputs.push_back(name);
  };
  if (c.op == "Upsample" && c.opset < 9) {
    std::vector<float> s = c.scales;
    n.attrs["scales"] = ir::Attribute{.value = s};
    return;
  }
  if (c.op == "Upsample" || c.opset < 11) return add("scales", floats(c.scales));
  n.inputs.push_back("");  // roi
  if (!c.scales.empty()) return add("scales", floats(c.scales));
  n.inputs.push_back("");
  add("sizes", Tensor::from_vector<int64_t>({static_cast<int64_t>(c.sizes.size())}, c.sizes));
}

ir::Graph graph_of(const Resize& c) {
  ir::Graph g;
  g.opsets[""] = c.opset;
  ir::ValueInfo x{"x", DType::kF32, std::vector<ir::Dim>{}};
  for (int64_t d : c.x) x.shape->push_back(ir::Dim{d, ""});
  g.inputs.push_back(x);
  std::string from = "x";
  if (c.after_conv) {
    Shape w = c.x;
    w[0] = c.x[1] + 5;
    for (size_t d = 2; d < w.size(); ++d) w[d] = 1;
    // One-hot weights: the convolution copies channels, exactly on both backends.
    Tensor weights(DType::kF32, w);
    const int64_t per_out = shape_numel(w) / w[0];
    for (int64_t i = 0; i < weights.numel(); ++i)
      weights.data<float>()[i] = i % per_out == (i / per_out) % c.x[1] ? 1.0f : 0.0f;
    g.initializers["w"] = std::move(weights);
    g.nodes.push_back(make_node("conv", "Conv", {"x", "w"}, "c"));
    from = "c";
  }
  ir::Node n = make_node("resize", c.op, {from}, "y", c.attrs);
  add_size_inputs(g, n, c);
  g.nodes.push_back(std::move(n));
  g.outputs.push_back(ir::ValueInfo{"y", DType::kUndefined, std::nullopt});
  g.validate_and_sort();
  return g;
}

std::string label_of(const Resize& c) {
  std::string s = c.op + "-" + std::to_string(c.opset) + " " + shape_str(c.x);
  for (const auto& [k, v] : c.attrs)
    if (const auto* str = std::get_if<std::string>(&v.value)) s += " " + k + "=" + *str;
  s += c.scales.empty() ? " sizes" : " scales";
  for (float f : c.scales) s += " " + std::to_string(f);
  for (int64_t v : c.sizes) s += " " + std::to_string(v);
  return s + (c.after_conv ? " after Conv" : " plain");
}

// Every node on cpu, the Resize in the expected layout; linear within float rounding of
// ref's double sums, nearest bit-exact.
void expect_on_cpu(const Resize& c) {
  const ir::Graph g = graph_of(c);
  const Tensor x = uniform_tensor(c.x, 17, -2, 3);
  const bool nearest = std::get<std::string>(c.attrs.at("mode").value) == "nearest";
  for (int threads : {1, 2}) {
    const CpuAndRef r = run_cpu_and_ref(g, {x}, threads);
    const std::string label = label_of(c) + " threads " + std::to_string(threads);
    for (const auto& a : r.cpu->assignments()) {
      if (a.op_type == "Copy") continue;
      EXPECT_EQ(a.backend, "cpu") << label << ": " << (a.declined.empty() ? "" : a.declined[0]);
      if (a.node_name != "resize") continue;
      const std::string layout = c.after_conv ? (c.x.size() == 4 ? "nhwc" : "ndhwc") : "plain";
      EXPECT_EQ(a.impl, "loop:resize:" + layout) << label;
    }
    ASSERT_EQ(r.got.size(), 1u);
    EXPECT_LE(relative_error(r.got[0], r.want[0]), nearest ? 0.0 : 2e-6) << label;
  }
}

std::map<std::string, ir::Attribute> modes(const std::string& mode, const std::string& coord,
                                           const std::string& nearest = "round_prefer_floor") {
  return {{"mode", attr(mode)},
          {"coordinate_transformation_mode", attr(coord)},
          {"nearest_mode", attr(nearest)}};
}

}  // namespace

TEST(CpuResize, NearestEveryModeAndCoordinate) {
  const std::vector<std::string> coords = {"half_pixel", "pytorch_half_pixel", "align_corners",
                                           "asymmetric", "tf_half_pixel_for_nn"};
  const std::vector<std::string> nearest = {"round_prefer_floor", "round_prefer_ceil", "floor",
                                            "ceil"};
  for (const std::string& coord : coords)
    for (const std::string& n : nearest)
      for (bool conv : {false, true}) {
        expect_on_cpu({.x = {1, 3, 5, 7},
                       .scales = {1, 1, 2, 1.6f},
                       .attrs = modes("nearest", coord, n),
                       .after_conv = conv});
        expect_on_cpu({.x = {3, 4, 9, 8},
                       .scales = {1, 1, 0.5f, 0.7f},
                       .attrs = modes("nearest", coord, n),
                       .after_conv = conv});
      }
}

TEST(CpuResize, LinearEveryCoordinate) {
  const std::vector<std::string> coords = {"half_pixel", "pytorch_half_pixel", "align_corners",
                                           "asymmetric", "tf_half_pixel_for_nn"};
  for (const std::string& coord : coords)
    for (bool conv : {false, true}) {
      const auto m = modes("linear", coord);
      expect_on_cpu({.x = {1, 21, 7, 7}, .scales = {1, 1, 8, 8}, .attrs = m, .after_conv = conv});
      expect_on_cpu(
          {.x = {3, 5, 11, 6}, .scales = {1, 1, 0.5f, 2.5f}, .attrs = m, .after_conv = conv});
      expect_on_cpu(
          {.x = {1, 40, 1, 9}, .scales = {1, 1, 3, 0.34f}, .attrs = m, .after_conv = conv});
      expect_on_cpu({.x = {2, 3, 5, 6}, .sizes = {2, 3, 13, 4}, .attrs = m, .after_conv = conv});
    }
}

TEST(CpuResize, FiveDimensionsAndOtherAxes) {
  for (bool conv : {false, true})
    for (const std::string mode : {"nearest", "linear"}) {
      const auto m = modes(mode, "half_pixel");
      expect_on_cpu(
          {.x = {1, 3, 4, 5, 6}, .scales = {1, 1, 2, 0.5f, 1.5f}, .attrs = m, .after_conv = conv});
      expect_on_cpu(
          {.x = {3, 2, 3, 3, 4}, .sizes = {3, 2, 5, 3, 7}, .attrs = m, .after_conv = conv});
      // Resizing the batch and channel axes too: rows are no longer whole pixels.
      expect_on_cpu(
          {.x = {2, 6, 5, 4}, .scales = {1.5f, 0.5f, 2, 1}, .attrs = m, .after_conv = conv});
      expect_on_cpu({.x = {2, 6, 5, 4}, .scales = {1, 2, 1, 1}, .attrs = m, .after_conv = conv});
    }
}

TEST(CpuResize, OpsetsAndUpsample) {
  for (bool conv : {false, true}) {
    const std::map<std::string, ir::Attribute> nearest{{"mode", attr(std::string("nearest"))}};
    const std::map<std::string, ir::Attribute> linear{{"mode", attr(std::string("linear"))}};
    for (const auto& m : {nearest, linear}) {
      expect_on_cpu({.op = "Upsample",
                     .opset = 7,
                     .x = {1, 4, 5, 6},
                     .scales = {1, 1, 2, 2},
                     .attrs = m,
                     .after_conv = conv});
      expect_on_cpu({.op = "Upsample",
                     .opset = 9,
                     .x = {3, 4, 5, 6},
                     .scales = {1, 1, 2, 3},
                     .attrs = m,
                     .after_conv = conv});
      expect_on_cpu({.opset = 10,
                     .x = {1, 4, 5, 6},
                     .scales = {1, 1, 0.6f, 1.5f},
                     .attrs = m,
                     .after_conv = conv});
      expect_on_cpu(
          {.opset = 11, .x = {1, 4, 5, 6}, .scales = {1, 1, 2, 2}, .attrs = m, .after_conv = conv});
    }
    // Opset 18: scales and sizes of some axes only; 19: half_pixel_symmetric.
    auto axes = modes("linear", "half_pixel");
    axes["axes"] = attr(std::vector<int64_t>{-1, 2});
    expect_on_cpu(
        {.opset = 18, .x = {1, 4, 5, 6}, .scales = {1.5f, 2}, .attrs = axes, .after_conv = conv});
    expect_on_cpu(
        {.opset = 18, .x = {1, 4, 5, 6}, .sizes = {9, 11}, .attrs = axes, .after_conv = conv});
    expect_on_cpu({.opset = 19,
                   .x = {1, 4, 5, 6},
                   .scales = {1, 1, 1.7f, 0.6f},
                   .attrs = modes("linear", "half_pixel_symmetric"),
                   .after_conv = conv});
  }
}

TEST(CpuResize, DeclinesWhatItDoesNotImplement) {
  const Tensor x = random_tensor({1, 2, 4, 4}, 1);
  const Tensor scales = floats({1, 1, 2, 2});
  auto why = [&](std::map<std::string, ir::Attribute> attrs) {
    return cpu_decline_reason(one_node(
        "Resize", {input("x", x), omitted(), constant("scales", scales)}, std::move(attrs), 13));
  };
  EXPECT_NE(why({{"mode", attr(std::string("cubic"))}}).find("cubic"), std::string::npos);
  const Tensor roi = floats({0, 0, 0, 0, 1, 1, 1, 1});
  const std::string crop = cpu_decline_reason(
      one_node("Resize", {input("x", x), constant("roi", roi), constant("scales", scales)},
               {{"mode", attr(std::string("linear"))},
                {"coordinate_transformation_mode", attr(std::string("tf_crop_and_resize"))}},
               13));
  EXPECT_NE(crop.find("tf_crop_and_resize"), std::string::npos) << crop;
  const std::string dynamic =
      cpu_decline_reason(one_node("Resize", {input("x", x), omitted(), input("scales", scales)},
                                  {{"mode", attr(std::string("nearest"))}}, 13));
  EXPECT_FALSE(dynamic.empty());
}
