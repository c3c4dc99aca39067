// Swin Transformer (Liu et al., 2021) as torchvision.models.swin_transformer defines swin_t:
// patch embedding 4x4 stride 4 to 96 channels, stages of 2, 2, 6 and 2 blocks at 96, 192,
// 384 and 768 channels with 3, 6, 12 and 24 heads (head dimension 32), window 7, MLP ratio
// 4, PatchMerging between stages; written as torch.onnx (opset 17) exports it, values
// channels last ([N, H, W, C]) throughout:
//   features.0   Conv 4x4/4 -> Transpose(0,2,3,1) -> LayerNorm
//   block        x + attn(norm1(x)), then x + mlp(norm2(x)) (stochastic depth is the
//                identity at inference)
//   attn         (no padding at 224: every map is a multiple of 7) torch.roll by -shift on H
//                and W (exported per axis as two Slices and a Concat), windows
//                Reshape(N, H/7, 7, W/7, 7, C) -> Transpose(0,1,3,2,4,5) -> Reshape(N*nW, 49,
//                C); qkv MatMul + Add, Reshape(N*nW, 49, 3, heads, 32) ->
//                Transpose(2,0,3,1,4), q, k, v by Gather on axis 0; q * 32^-0.5; q @ kᵀ
//                (Transpose(0,1,3,2)); + the relative position bias, a constant [1, heads,
//                49, 49] (the exporter folds the gather of the [169, heads] table by the
//                fixed relative position index); in shifted blocks Reshape(N, nW, heads,
//                49, 49) + the attention mask [1, nW, 1, 49, 49] (-100 between tokens from
//                different regions of the rolled map, a constant) -> Reshape(N*nW, heads,
//                49, 49); Softmax; Dropout; @ v -> Transpose(0,2,1,3) -> Reshape(N*nW, 49,
//                C); proj MatMul + Add; Dropout; the windows reversed (Reshape, Transpose,
//                Reshape) and the roll undone. The shift is 3 in odd blocks, 0 where the
//                window covers the whole map (the last stage, 7x7).
//   mlp          MatMul + Add (4C), GELU (Erf form), MatMul + Add
//   PatchMerging x[..., 0::2, 0::2, :], [1::2, 0::2], [0::2, 1::2], [1::2, 1::2] (strided
//                Slices) -> Concat(-1) -> LayerNorm(4C) -> MatMul (2C, no bias)
//   head         LayerNorm -> Transpose(0,3,1,2) -> GlobalAveragePool (AdaptiveAvgPool2d(1))
//                -> Flatten -> Gemm
// Both dropouts of shifted_window_attention are F.dropout(x, p) without `training=`, so
// torch traces them in training mode: Dropout(ratio 0, training_mode true), a copy (the
// MLP's nn.Dropout modules are in eval mode and vanish from the export). Reshape targets
// keep the batch free (-1) where the export at batch 1 writes constants, as the rest of
// the zoo does. LayerNorm epsilon 1e-5. Initialization as torchvision's: every Linear
// weight truncated normal std 0.02 (cut at +-2, a plain normal at this scale), bias 0; the
// relative position bias tables the same; the patch Conv nn.Conv2d's default; LayerNorm 1
// and 0. 28,288,354 parameters counting the 169 x heads entries of each bias table
// (torchvision's num_params).
#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "frugal/zoo/builder.h"
#include "frugal/zoo/models.h"

namespace frugal::zoo {
namespace {

constexpr float kStd = 0.02f;
constexpr float kLnEps = 1e-5f;
constexpr int64_t kToEnd = std::numeric_limits<int64_t>::max();  // torch.onnx's open end

// torch.roll(x, shift, dim) as torch.onnx exports it: x[-shift:] and x[:-shift] along the
// axis, concatenated.
std::string roll(GraphBuilder& b, const std::string& p, const std::string& x, int64_t shift,
                 int64_t axis) {
  const std::string tail = b.add_slice(p + ".tail", x, {-shift}, {kToEnd}, {axis});
  const std::string head = b.add_slice(p + ".head", x, {0}, {-shift}, {axis});
  return b.add_concat(p, {tail, head}, axis);
}

// The relative position bias [1, heads, N, N] (N = window^2) the export folds from the
// table [(2w-1)^2, heads] gathered by the relative position index of each token pair.
Tensor relative_position_bias(const Tensor& table, int64_t window, int64_t heads) {
  const int64_t n = window * window, side = 2 * window - 1;
  Tensor bias(DType::kF32, {1, heads, n, n});
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < n; ++j) {
      const int64_t dh = i / window - j / window + window - 1;
      const int64_t dw = i % window - j % window + window - 1;
      for (int64_t h = 0; h < heads; ++h)
        bias.data<float>()[(h * n + i) * n + j] = table.data<float>()[(dh * side + dw) * heads + h];
    }
  return bias;
}

// The shifted blocks' attention mask [1, nW, 1, N, N]: the rolled map's tokens carry the
// label of one of 3 x 3 regions (rows [0, H-w), [H-w, H-s), [H-s, H), columns the same);
// -100 between tokens of different labels in one window, 0 otherwise.
Tensor shifted_window_mask(int64_t height, int64_t width, int64_t window, int64_t shift) {
  auto region = [window, shift](int64_t v, int64_t size) {
    return v < size - window ? 0 : v < size - shift ? 1 : 2;
  };
  const int64_t wh = height / window, ww = width / window, n = window * window;
  Tensor mask(DType::kF32, {1, wh * ww, 1, n, n});
  std::vector<int> label(static_cast<size_t>(n));
  for (int64_t w = 0; w < wh * ww; ++w) {
    for (int64_t t = 0; t < n; ++t)
      label[static_cast<size_t>(t)] = 3 * region((w / ww) * window + t / window, height) +
                                      region((w % ww) * window + t % window, width);
    for (int64_t i = 0; i < n; ++i)
      for (int64_t j = 0; j < n; ++j)
        mask.data<float>()[(w * n + i) * n + j] =
            label[static_cast<size_t>(i)] == label[static_cast<size_t>(j)] ? 0.0f : -100.0f;
  }
  return mask;
}

struct Stage {
  int64_t height, width, channels, heads, window;
};

// shifted_window_attention on x [N, H, W, C] for one block.
std::string window_attention(GraphBuilder& b, const std::string& p, const std::string& x,
                             const Stage& s, int64_t shift) {
  const int64_t w = s.window, n = w * w, c = s.channels, d = c / s.heads;
  const int64_t windows = (s.height / w) * (s.width / w);
  std::string y = x;
  if (shift > 0) y = roll(b, p + ".roll_w", roll(b, p + ".roll_h", y, -shift, 1), -shift, 2);
  y = b.add_reshape(p + ".partition", y, {-1, s.height / w, w, s.width / w, w, c});
  y = b.add_transpose(p + ".partition.permute", y, {0, 1, 3, 2, 4, 5});
  y = b.add_reshape(p + ".windows", y, {-1, n, c});
  y = b.add_linear_nd(p + ".qkv", y, 3 * c, kStd);
  y = b.add_reshape(p + ".qkv.heads", y, {-1, n, 3, s.heads, d});
  y = b.add_transpose(p + ".qkv.permute", y, {2, 0, 3, 1, 4});
  const std::string q0 = b.add_gather(p + ".q", y, 0, 0);
  const std::string k = b.add_gather(p + ".k", y, 1, 0);
  const std::string v = b.add_gather(p + ".v", y, 2, 0);
  const std::string scale = b.add_fixed(
      p + ".scale", Tensor::scalar<float>(static_cast<float>(1.0 / std::sqrt(double(d)))));
  const std::string q = b.add_binary(p + ".q_scaled", "Mul", q0, scale);
  const std::string kt = b.add_transpose(p + ".k_t", k, {0, 1, 3, 2});
  std::string a = b.add_matmul(p + ".scores", q, kt);
  const std::string bias =
      b.add_fixed(p + ".relative_position_bias",
                  relative_position_bias(b.draw_normal({(2 * w - 1) * (2 * w - 1), s.heads}, kStd),
                                         w, s.heads));
  a = b.add_binary(p + ".add_bias", "Add", a, bias);
  if (shift > 0) {
    a = b.add_reshape(p + ".scores.per_window", a, {-1, windows, s.heads, n, n});
    a = b.add_binary(
        p + ".add_mask", "Add", a,
        b.add_fixed(p + ".attn_mask", shifted_window_mask(s.height, s.width, w, shift)));
    a = b.add_reshape(p + ".scores.flat", a, {-1, s.heads, n, n});
  }
  a = b.add_softmax(p + ".softmax", a, -1);
  a = b.add_training_dropout(p + ".attn_dropout", a, 0.0f);
  y = b.add_matmul(p + ".context", a, v);
  y = b.add_transpose(p + ".context.permute", y, {0, 2, 1, 3});
  y = b.add_reshape(p + ".context.merge", y, {-1, n, c});
  y = b.add_linear_nd(p + ".proj", y, c, kStd);
  y = b.add_training_dropout(p + ".proj_dropout", y, 0.0f);
  y = b.add_reshape(p + ".reverse", y, {-1, s.height / w, s.width / w, w, w, c});
  y = b.add_transpose(p + ".reverse.permute", y, {0, 1, 3, 2, 4, 5});
  y = b.add_reshape(p + ".merged", y, {-1, s.height, s.width, c});
  if (shift > 0) y = roll(b, p + ".unroll_w", roll(b, p + ".unroll_h", y, shift, 1), shift, 2);
  return y;
}

std::string swin_block(GraphBuilder& b, const std::string& p, const std::string& x, const Stage& s,
                       int64_t shift) {
  std::string y = b.add_layer_norm(p + ".norm1", x, kLnEps);
  y = window_attention(b, p + ".attn", y, s, shift);
  const std::string mid = b.add_add(p + ".add1", x, y);
  y = b.add_layer_norm(p + ".norm2", mid, kLnEps);
  y = b.add_linear_nd(p + ".mlp.0", y, 4 * s.channels, kStd);
  y = b.add_gelu(p + ".mlp.1", y);
  y = b.add_linear_nd(p + ".mlp.3", y, s.channels, kStd);
  return b.add_add(p + ".add2", mid, y);
}

// PatchMerging: the four 2x2 neighbours side by side, LayerNorm, a Linear to 2C.
std::string patch_merging(GraphBuilder& b, const std::string& p, const std::string& x) {
  std::vector<std::string> parts;
  const int64_t starts[4][2] = {{0, 0}, {1, 0}, {0, 1}, {1, 1}};  // (H, W) offsets
  for (int i = 0; i < 4; ++i)
    parts.push_back(b.add_slice(p + ".x" + std::to_string(i), x, {starts[i][0], starts[i][1]},
                                {kToEnd, kToEnd}, {1, 2}, {2, 2}));
  const int64_t c = b.shape_of(x).back();
  std::string y = b.add_concat(p + ".cat", parts, 3);
  y = b.add_layer_norm(p + ".norm", y, kLnEps);
  return b.add_linear_nd(p + ".reduction", y, 2 * c, kStd, false);
}

}  // namespace

ir::Graph build_swin(const SwinConfig& c, uint64_t seed) {
  FRUGAL_CHECK(c.depths.size() == c.heads.size() && !c.depths.empty(),
               "swin: one head count per stage");
  GraphBuilder b(c.name, seed);
  std::string x = b.add_input("input", {1, 3, c.image, c.image});
  x = b.add_conv("features.0.0", x, c.embed,
                 {.kernel = 4, .stride = 4, .bias = true, .init = ConvInit::kTorchDefault});
  x = b.add_transpose("features.0.1", x, {0, 2, 3, 1});
  x = b.add_layer_norm("features.0.2", x, kLnEps);
  for (size_t i = 0; i < c.depths.size(); ++i) {
    const Shape& shape = b.shape_of(x);
    FRUGAL_CHECK(shape[1] % c.window == 0 && shape[2] % c.window == 0,
                 "swin: the maps must be multiples of the window (no padding written)");
    const Stage s{shape[1], shape[2], shape[3], c.heads[i], c.window};
    // No shift where one window covers the map.
    const int64_t shift = c.window >= s.height && c.window >= s.width ? 0 : c.window / 2;
    const std::string stage = "features." + std::to_string(2 * i + 1);
    for (int64_t j = 0; j < c.depths[i]; ++j)
      x = swin_block(b, stage + "." + std::to_string(j), x, s, j % 2 == 0 ? 0 : shift);
    if (i + 1 < c.depths.size()) x = patch_merging(b, "features." + std::to_string(2 * i + 2), x);
  }
  x = b.add_layer_norm("norm", x, kLnEps);
  x = b.add_transpose("permute", x, {0, 3, 1, 2});
  x = b.add_global_avg_pool("avgpool", x);
  x = b.add_flatten("flatten", x);
  x = b.add_linear("head", x, c.classes, kStd);
  return b.finish(x);
}

ir::Graph build_swin_t(uint64_t seed) {
  return build_swin(SwinConfig{}, seed);
}

}  // namespace frugal::zoo
