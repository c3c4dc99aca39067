// YOLOv8n as Ultralytics defines it (yolov8.yaml at scale n: depth 0.33, width 0.25; 80
// classes; input 640 x 640), exported as Ultralytics' `export format=onnx` writes it: the
// Detect head decodes its boxes in the graph (export mode), output [N, 84, 8400] (4 box
// coordinates xywh in pixels, then 80 class probabilities, per anchor).
//   Conv(c, k, s):  Conv2d (no bias, padding k // 2) -> BatchNorm (eps 1e-3) -> SiLU
//   C2f(c, n, shortcut): Conv 1x1 to 2h (h = c / 2), split in two halves; n Bottlenecks
//     (two 3x3 Convs, + input when shortcut) each on the last piece; Concat of all pieces,
//     Conv 1x1 to c
//   SPPF(c): Conv 1x1 to c/2, three MaxPool 5x5 (stride 1, pad 2) in a chain, Concat of the
//     four, Conv 1x1 to c
//   backbone: Conv 16 s2, Conv 32 s2, C2f 32 x1, Conv 64 s2, C2f 64 x2 (P3), Conv 128 s2,
//     C2f 128 x2 (P4), Conv 256 s2, C2f 256 x1, SPPF 256 (P5)
//   neck: Upsample x2 + Concat P4 -> C2f 128; Upsample x2 + Concat P3 -> C2f 64 (out 1);
//     Conv 64 s2 + Concat -> C2f 128 (out 2); Conv 128 s2 + Concat P5 -> C2f 256 (out 3)
//     (neck C2f without shortcut)
//   Detect, per level: box branch Conv 64, Conv 64, Conv2d 1x1 to 64 (4 sides x 16 bins);
//     class branch Conv 80, Conv 80, Conv2d 1x1 to 80; the two concatenated (144 channels)
//     and the levels flattened and concatenated along the anchors; split 64 / 80; DFL: the
//     64 reshaped [N, 4, 16, A], bins to axis 1, Softmax over the bins, a fixed 1x1 Conv
//     with weights 0..15 (the expected distance), reshaped [N, 4, A]; dist2bbox: the
//     distances split into left-top and right-bottom, x1y1 = anchor - lt, x2y2 = anchor +
//     rb, centre (x1y1 + x2y2) / 2 and size x2y2 - x1y1, times each anchor's stride;
//     Sigmoid of the classes; Concat.
// The anchors (cell centres, offset 0.5) and strides (8, 16, 32) are constants, as the
// export traces them for a fixed input size. 3,157,200 parameters (Ultralytics' model
// summary, the DFL's 16 fixed weights included); initialization PyTorch's defaults for
// Conv2d, BN scale 1 shift 0 (Detect's bias priors left out: the zoo's weights are for
// timing and conversion, not detection).
#include <algorithm>
#include <utility>

#include "frugal/zoo/builder.h"
#include "frugal/zoo/models.h"

namespace frugal::zoo {
namespace {

constexpr int64_t kClasses = 80, kBins = 16;

std::string conv(GraphBuilder& b, const std::string& name, const std::string& x, int64_t c,
                 int64_t k, int64_t s) {
  std::string y =
      b.add_conv(name + ".conv", x, c,
                 {.kernel = k, .stride = s, .pad = k / 2, .init = ConvInit::kTorchDefault});
  y = b.add_bn(name + ".bn", y, 1e-3f);
  return b.add_silu(name + ".act", y);
}

std::string c2f(GraphBuilder& b, const std::string& name, const std::string& x, int64_t c,
                int64_t n, bool shortcut) {
  const int64_t h = c / 2;
  std::vector<std::string> pieces =
      b.add_split(name + ".split", conv(b, name + ".cv1", x, 2 * h, 1, 1), {h, h});
  for (int64_t i = 0; i < n; ++i) {
    const std::string m = name + ".m." + std::to_string(i);
    const std::string& in = pieces.back();
    std::string y = conv(b, m + ".cv2", conv(b, m + ".cv1", in, h, 3, 1), h, 3, 1);
    if (shortcut) y = b.add_add(m + ".add", in, y);
    pieces.push_back(y);
  }
  return conv(b, name + ".cv2", b.add_concat(name + ".cat", pieces), c, 1, 1);
}

std::string sppf(GraphBuilder& b, const std::string& name, const std::string& x, int64_t c) {
  std::vector<std::string> pieces{conv(b, name + ".cv1", x, b.channels(x) / 2, 1, 1)};
  for (int i = 0; i < 3; ++i)
    pieces.push_back(b.add_max_pool(name + ".m." + std::to_string(i), pieces.back(), 5, 1, 2));
  return conv(b, name + ".cv2", b.add_concat(name + ".cat", pieces), c, 1, 1);
}

// One level's raw head output: box distributions then class logits, [N, 144, H, W]. The
// branches' widths come from the first level's channels `c0` (Detect's c2 and c3).
std::string head_level(GraphBuilder& b, int level, const std::string& x, int64_t c0) {
  const std::string l = std::to_string(level);
  const ConvOptions last{.kernel = 1, .bias = true, .init = ConvInit::kTorchDefault};
  const int64_t c2 = std::max<int64_t>({16, c0 / 4, 4 * kBins});
  const int64_t c3 = std::max<int64_t>(c0, std::min<int64_t>(kClasses, 100));
  std::string box = conv(b, "model.22.cv2." + l + ".0", x, c2, 3, 1);
  box = conv(b, "model.22.cv2." + l + ".1", box, c2, 3, 1);
  box = b.add_conv("model.22.cv2." + l + ".2", box, 4 * kBins, last);
  std::string cls = conv(b, "model.22.cv3." + l + ".0", x, c3, 3, 1);
  cls = conv(b, "model.22.cv3." + l + ".1", cls, c3, 3, 1);
  cls = b.add_conv("model.22.cv3." + l + ".2", cls, kClasses, last);
  return b.add_concat("model.22.cat." + l, {box, cls});
}

// Anchor points [1, 2, A] (x then y of each cell's centre, level by level, row-major) and
// strides [1, A].
std::pair<Tensor, Tensor> anchors(const std::vector<Shape>& levels,
                                  const std::vector<int64_t>& strides) {
  int64_t total = 0;
  for (const Shape& s : levels) total += s[2] * s[3];
  Tensor points(DType::kF32, {1, 2, total}), stride(DType::kF32, {1, total});
  int64_t a = 0;
  for (size_t i = 0; i < levels.size(); ++i)
    for (int64_t y = 0; y < levels[i][2]; ++y)
      for (int64_t x = 0; x < levels[i][3]; ++x, ++a) {
        points.data<float>()[a] = static_cast<float>(x) + 0.5f;
        points.data<float>()[total + a] = static_cast<float>(y) + 0.5f;
        stride.data<float>()[a] = static_cast<float>(strides[i]);
      }
  return {std::move(points), std::move(stride)};
}

// Detect's export-mode decoding of the levels' raw outputs.
std::string decode(GraphBuilder& b, const std::vector<std::string>& raw) {
  std::vector<std::string> flat;
  std::vector<Shape> shapes;
  for (size_t i = 0; i < raw.size(); ++i) {
    shapes.push_back(b.shape_of(raw[i]));
    flat.push_back(
        b.add_reshape("model.22.view." + std::to_string(i), raw[i], {0, 4 * kBins + kClasses, -1}));
  }
  const std::string all = b.add_concat("model.22.cat", flat, 2);
  const int64_t a = b.shape_of(all)[2];
  const auto parts = b.add_split("model.22.split", all, {4 * kBins, kClasses});
  // DFL: the expected bin of each side's distribution.
  std::string d = b.add_reshape("model.22.dfl.view", parts[0], {0, 4, kBins, a});
  d = b.add_softmax("model.22.dfl.softmax",
                    b.add_transpose("model.22.dfl.transpose", d, {0, 2, 1, 3}), 1);
  Tensor bins(DType::kF32, {1, kBins, 1, 1});
  for (int64_t i = 0; i < kBins; ++i) bins.data<float>()[i] = static_cast<float>(i);
  d = b.add_fixed_conv("model.22.dfl.conv", d, std::move(bins));
  d = b.add_reshape("model.22.dfl.flat", d, {0, 4, a});
  // dist2bbox (xywh), in pixels.
  auto [points, stride] = anchors(shapes, {8, 16, 32});
  const std::string anchor = b.add_fixed("model.22.anchors", std::move(points));
  const auto sides = b.add_split("model.22.chunk", d, {2, 2});
  const std::string x1y1 = b.add_binary("model.22.x1y1", "Sub", anchor, sides[0]);
  const std::string x2y2 = b.add_binary("model.22.x2y2", "Add", anchor, sides[1]);
  const std::string c_xy =
      b.add_binary("model.22.c_xy", "Div", b.add_binary("model.22.sum", "Add", x1y1, x2y2),
                   b.add_fixed("model.22.two", Tensor::scalar<float>(2.0f)));
  const std::string wh = b.add_binary("model.22.wh", "Sub", x2y2, x1y1);
  const std::string box =
      b.add_binary("model.22.dbox", "Mul", b.add_concat("model.22.xywh", {c_xy, wh}),
                   b.add_fixed("model.22.strides", std::move(stride)));
  return b.add_concat("model.22.out", {box, b.add_sigmoid("model.22.sigmoid", parts[1])});
}

}  // namespace

ir::Graph build_yolov8n(uint64_t seed) {
  GraphBuilder b("yolov8n", seed);
  const std::string input = b.add_input("images", {1, 3, 640, 640});
  std::string x = conv(b, "model.0", input, 16, 3, 2);
  x = conv(b, "model.1", x, 32, 3, 2);
  x = c2f(b, "model.2", x, 32, 1, true);
  x = conv(b, "model.3", x, 64, 3, 2);
  const std::string p3 = c2f(b, "model.4", x, 64, 2, true);
  x = conv(b, "model.5", p3, 128, 3, 2);
  const std::string p4 = c2f(b, "model.6", x, 128, 2, true);
  x = conv(b, "model.7", p4, 256, 3, 2);
  x = c2f(b, "model.8", x, 256, 1, true);
  const std::string p5 = sppf(b, "model.9", x, 256);
  x = b.add_concat("model.11", {b.add_upsample("model.10", p5, 2, false), p4});
  const std::string n12 = c2f(b, "model.12", x, 128, 1, false);
  x = b.add_concat("model.14", {b.add_upsample("model.13", n12, 2, false), p3});
  const std::string out1 = c2f(b, "model.15", x, 64, 1, false);
  x = b.add_concat("model.17", {conv(b, "model.16", out1, 64, 3, 2), n12});
  const std::string out2 = c2f(b, "model.18", x, 128, 1, false);
  x = b.add_concat("model.20", {conv(b, "model.19", out2, 128, 3, 2), p5});
  const std::string out3 = c2f(b, "model.21", x, 256, 1, false);
  const int64_t c0 = b.channels(out1);
  const std::vector<std::string> raw{head_level(b, 0, out1, c0), head_level(b, 1, out2, c0),
                                     head_level(b, 2, out3, c0)};
  return b.finish(decode(b, raw), "output0");
}

}  // namespace frugal::zoo
