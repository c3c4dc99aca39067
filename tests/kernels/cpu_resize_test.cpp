// Resize and Upsample on the cpu backend (resize_kernel.cpp) against ref: modes nearest
// (every nearest_mode) and linear, every coordinate transformation mode it implements,
// scales up, down and non-integer, sizes, opset-18 axes, Resize 10/11/13/18/19 and
// Upsample 7/9, 4-D and 5-D, batch 1 and 3, odd sizes, input and output each plain or
// channels-last (convolutions with one-hot weights before and after keep the graph exact),
// 1 and 2 threads, poisoned arena.
// Nearest copies are bit-exact.
#include <gtest/gtest.h>

#include <filesystem>

#include "frugal/ir/onnx_io.h"
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
  bool after_conv = false;   // x comes from a 1x1 Conv (channels-last on this CPU)
  bool before_conv = false;  // the output goes to a 1x1 Conv (set by expect_on_cpu)
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

// A 1x1 Conv from `in` channels to in + 5 with one-hot weights: it copies channels,
// exactly on both backends.
void add_one_hot_conv(ir::Graph& g, const std::string& name, const std::string& from,
                      const std::string& to, int64_t in, size_t rank) {
  Shape w(rank, 1);
  w[0] = in + 5;
  w[1] = in;
  Tensor weights(DType::kF32, w);
  for (int64_t i = 0; i < weights.numel(); ++i)
    weights.data<float>()[i] = i % in == (i / in) % in ? 1.0f : 0.0f;
  g.initializers[name + ".w"] = std::move(weights);
  g.nodes.push_back(make_node(name, "Conv", {from, name + ".w"}, to));
}

ir::Graph graph_of(const Resize& c) {
  ir::Graph g;
  g.opsets[""] = c.opset;
  ir::ValueInfo x{"x", DType::kF32, std::vector<ir::Dim>{}};
  for (int64_t d : c.x) x.shape->push_back(ir::Dim{d, ""});
  g.inputs.push_back(x);
  std::string from = "x";
  int64_t channels = c.x[1];
  if (c.after_conv) {
    add_one_hot_conv(g, "conv", "x", "c", channels, c.x.size());
    from = "c";
    channels += 5;
  }
  ir::Node n = make_node("resize", c.op, {from}, c.before_conv ? "r" : "y", c.attrs);
  add_size_inputs(g, n, c);
  g.nodes.push_back(std::move(n));
  if (c.before_conv) add_one_hot_conv(g, "conv_after", "r", "y", channels, c.x.size());
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
  return s + (c.after_conv ? " after Conv" : " from input") +
         (c.before_conv ? " before Conv" : " to output");
}

// Whether the node leaves the channel axis as it is (a Conv may then follow it).
bool keeps_channels(const Resize& c) {
  if (c.attrs.count("axes")) return true;  // the tests' axes never include 1
  const int64_t channels = c.x[1] + (c.after_conv ? 5 : 0);
  return c.scales.empty() ? c.sizes[1] == channels : c.scales[1] == 1.0f;
}

// Every node on cpu; linear within float rounding of ref's double sums, nearest bit-exact.
// The Resize reads a convolution's channels-last output in place (after_conv) and writes
// channels-last for the convolution after it (before_conv), or plain: the values kept in
// the convolutions' layout say which.
void expect_on_cpu_once(const Resize& c) {
  const ir::Graph g = graph_of(c);
  const Tensor x = uniform_tensor(c.x, 17, -2, 3);
  const bool nearest = std::get<std::string>(c.attrs.at("mode").value) == "nearest";
  for (int threads : {1, 2}) {
    const CpuAndRef r = run_cpu_and_ref(g, {x}, threads);
    const std::string label = label_of(c) + " threads " + std::to_string(threads);
    for (const auto& a : r.cpu->assignments()) {
      if (a.op_type == "Copy") continue;
      EXPECT_EQ(a.backend, "cpu") << label << ": " << (a.declined.empty() ? "" : a.declined[0]);
      if (a.node_name == "resize") {
        EXPECT_EQ(a.impl, "loop:resize") << label;
      }
    }
    EXPECT_EQ(r.cpu->native_layout_values(), size_t{c.after_conv} + size_t{c.before_conv}) << label;
    ASSERT_EQ(r.got.size(), 1u);
    EXPECT_LE(relative_error(r.got[0], r.want[0]), nearest ? 0.0 : 2e-6) << label;
  }
}

void expect_on_cpu(Resize c) {
  expect_on_cpu_once(c);
  if (!keeps_channels(c)) return;
  c.before_conv = true;
  expect_on_cpu_once(c);
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

// ONNX's own Resize and Upsample cases (libonnx-testdata, tools/conformance.cpp's data). The
// suite feeds scales and sizes as graph inputs, which the cpu backend declines (shapes known
// only at run time), so that `ctest -R conformance` runs them on ref; here they become
// initializers, and every float32 case of a mode and coordinate rule the kernel implements
// must run on it and match the stored outputs at the suite's tolerances.
TEST(CpuResize, OnnxBackendCasesWithConstantScales) {
  namespace fs = std::filesystem;
  const fs::path root = "/usr/share/libonnx-testdata/data/node";
  if (!fs::exists(root)) GTEST_SKIP() << root << " not found (libonnx-testdata)";
  int on_cpu = 0;
  for (const auto& entry : fs::directory_iterator(root)) {
    const std::string name = entry.path().filename().string();
    if (name.rfind("test_resize", 0) != 0 && name.rfind("test_upsample", 0) != 0) continue;
    ir::Graph g = ir::load_onnx((entry.path() / "model.onnx").string());
    const fs::path set = entry.path() / "test_data_set_0";
    std::vector<Tensor> in;
    for (size_t i = 0; fs::exists(set / ("input_" + std::to_string(i) + ".pb")); ++i)
      in.push_back(ir::load_tensor_pb((set / ("input_" + std::to_string(i) + ".pb")).string()));
    const Tensor want = ir::load_tensor_pb((set / "output_0.pb").string());
    ASSERT_EQ(in.size(), g.inputs.size()) << name;
    for (size_t i = 1; i < in.size(); ++i) g.initializers[g.inputs[i].name] = in[i];
    g.inputs.resize(1);
    runtime::SessionOptions opt;
    opt.backends = {"cpu", "ref"};
    opt.poison_arena = true;
    runtime::Session s(g, opt);
    const Tensor got = s.run({in[0]})[0];
    const ir::Node& n = g.nodes.back();
    const bool implemented =
        in[0].dtype() == DType::kF32 && n.attr_string("mode", "nearest") != "cubic" &&
        n.attr_string("coordinate_transformation_mode", "") != "tf_crop_and_resize";
    const std::string backend = s.assignments().back().backend;
    if (implemented) {
      EXPECT_EQ(backend, "cpu") << name;
    }
    on_cpu += backend == "cpu";
    ASSERT_EQ(got.shape(), want.shape()) << name;
    for (int64_t i = 0; i < want.numel(); ++i)
      ASSERT_LE(std::fabs(got.at_double(i) - want.at_double(i)),
                1e-7 + 1e-3 * std::fabs(want.at_double(i)))
          << name << " element " << i;
  }
  EXPECT_GE(on_cpu, 12);  // the linear and nearest cases of the suite
}
