// GraphBuilder: appends ONNX (opset 17, default domain) nodes to an ir::Graph one
// layer at a time, creating seeded initializers named like torchvision's state dict
// ("layer1.0.conv1.weight"), so that a model file reads like its torchvision
// definition. Every add_* returns the name of the value it produced. The builder
// tracks each value's shape (float32, static), which it also records in
// Graph::value_info.
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "frugal/core/tensor.h"
#include "frugal/ir/graph.h"

namespace frugal::zoo {

inline constexpr int64_t kZooOpset = 17;

// How a Conv's weight (and bias) start, following each architecture's reference
// implementation (torchvision's model classes, PyTorch's nn.Conv2d otherwise).
enum class ConvInit : uint8_t {
  // Kaiming normal, mode fan_out, gain sqrt(2), bias 0: torchvision's ResNet and MobileNet.
  kKaimingNormalFanOut,
  // torch.nn.Conv2d's own reset_parameters: kaiming_uniform(a = sqrt(5)) = U(+-1/sqrt(fan_in))
  // and bias U(+-1/sqrt(fan_in)): ShuffleNetV2 and LeNet-5 (no override in their models).
  kTorchDefault,
  // kaiming_uniform (a = 0, fan_in) = U(+-sqrt(6 / fan_in)), bias 0: torchvision's SqueezeNet.
  kKaimingUniform,
  // Kaiming normal, mode fan_in, gain sqrt(2), bias 0: torchvision's DenseNet.
  kKaimingNormalFanIn,
  // Weight as kKaimingNormalFanOut, bias left at nn.Conv2d's default U(+-1/sqrt(fan_in)):
  // torchvision's RegNet, whose init sets conv weights only (its SE convs have biases).
  kKaimingNormalFanOutDefaultBias,
};

// How a Linear's weight and bias start when the reference overrides nn.Linear's default.
enum class LinearInit : uint8_t {
  // weight U(+-1/sqrt(in)) as nn.Linear, bias 0: torchvision's DenseNet.
  kTorchDefaultZeroBias,
  // weight U(+-1/sqrt(out)), bias 0: torchvision's EfficientNet.
  kUniformByOutZeroBias,
  // kaiming_uniform (fan_out, gain 1 for "sigmoid") = U(+-sqrt(3/out)), bias 0: torchvision's
  // MNASNet.
  kKaimingUniformByOutZeroBias,
  // weight N(0, 0.01), bias left at nn.Linear's default U(+-1/sqrt(in)): torchvision's
  // GoogLeNet (truncated normal cut at +-2 = 200 standard deviations; weights only).
  kNormal001DefaultBias,
};

struct ConvOptions {
  int64_t kernel = 1;
  int64_t stride = 1;
  int64_t pad = 0;  // symmetric, on both spatial axes
  int64_t groups = 1;
  int64_t dilation = 1;
  bool bias = false;
  ConvInit init = ConvInit::kKaimingNormalFanOut;
  // > 0: normal(0, weight_std) and bias 0 instead of `init` (SqueezeNet's final
  // classifier conv uses 0.01).
  float weight_std = 0.0f;
  // Rectangular kernels (Inception's 1x7 and 7x1): width and its padding when set.
  int64_t kernel_w = 0;  // 0: kernel
  int64_t pad_w = -1;    // -1: pad
};

class GraphBuilder {
 public:
  // Initializer k (in creation order) draws from Philox(seed, stream k).
  GraphBuilder(std::string model_name, uint64_t seed);

  std::string add_input(const std::string& name, const Shape& shape);

  // Conv (weight [out, in/groups, k, k]; bias when opt.bias).
  std::string add_conv(const std::string& name, const std::string& x, int64_t out_channels,
                       const ConvOptions& opt);
  // Inference-form BatchNormalization over channel axis 1. Running mean/var are
  // seeded small random values (mean ~ N(0, 0.1), var ~ U(0.5, 1.5)) so that BN
  // is not an identity in numerical tests; gamma = 1, beta = 0.
  std::string add_bn(const std::string& name, const std::string& x, float epsilon = 1e-5f);
  std::string add_relu(const std::string& name, const std::string& x);
  std::string add_relu6(const std::string& name, const std::string& x);  // Clip(0, 6)
  std::string add_hardswish(const std::string& name, const std::string& x);
  // torch.nn.Hardsigmoid: relu6(x + 3) / 6 = HardSigmoid(alpha 1/6, beta 0.5).
  std::string add_hardsigmoid(const std::string& name, const std::string& x);
  std::string add_add(const std::string& name, const std::string& a, const std::string& b);
  // Elementwise product; `b` may broadcast (numpy's rule: N x C x 1 x 1 or C x 1 x 1 against
  // N x C x H x W).
  std::string add_mul(const std::string& name, const std::string& a, const std::string& b);
  std::string add_max_pool(const std::string& name, const std::string& x, int64_t kernel,
                           int64_t stride, int64_t pad, bool ceil_mode = false);
  // AveragePool as torch's avg_pool2d defaults: the padding counts (count_include_pad).
  std::string add_avg_pool(const std::string& name, const std::string& x, int64_t kernel,
                           int64_t stride, int64_t pad);
  std::string add_global_avg_pool(const std::string& name, const std::string& x);
  // torch's x.mean(axes) as torch.onnx exports it at opset 17: ReduceMean with the axes as an
  // attribute (MNASNet's x.mean([2, 3]) before its classifier).
  std::string add_reduce_mean(const std::string& name, const std::string& x,
                              const std::vector<int64_t>& axes, bool keepdims);
  // torch's F.interpolate(x, scale_factor=(f, f), mode=..., align_corners=False) as
  // torch.onnx exports it at opset 17: Resize with constant scales [1, 1, f, f], mode
  // linear and half_pixel coordinates (`bilinear`: LRASPP's upsampling; torch exports its
  // size= as Shape-derived sizes instead, the same resize when the scale is out / in
  // exactly, as the zoo's fixed sizes make it), or nearest with asymmetric coordinates
  // (nn.Upsample(scale_factor=2), the YOLO necks').
  std::string add_upsample(const std::string& name, const std::string& x, int64_t factor,
                           bool bilinear);
  // Reshape to `dims` (a constant; 0 copies the input's dimension, -1 is inferred).
  std::string add_reshape(const std::string& name, const std::string& x,
                          const std::vector<int64_t>& dims);
  std::string add_softmax(const std::string& name, const std::string& x, int64_t axis);
  // A two-input elementwise `op` (Add, Sub, Mul, Div) with numpy broadcasting.
  std::string add_binary(const std::string& name, const std::string& op, const std::string& a,
                         const std::string& b);
  // A constant (not a parameter: fixed by the architecture, e.g. anchor grids), by value.
  std::string add_fixed(const std::string& name, Tensor value);
  // A 1x1 Conv without bias whose weight is fixed by the architecture (YOLOv8's DFL).
  std::string add_fixed_conv(const std::string& name, const std::string& x, Tensor weight);
  std::string add_flatten(const std::string& name, const std::string& x);  // axis 1
  // torch.nn.Linear as Gemm(transB = 1), weight [out, in]. weight_std 0: nn.Linear's own
  // init, weight and bias U(+-1/sqrt(in)); > 0: weight N(0, weight_std), bias 0 (the
  // classifiers of torchvision's MobileNets use 0.01).
  std::string add_linear(const std::string& name, const std::string& x, int64_t out_features,
                         float weight_std = 0.0f);
  std::string add_linear(const std::string& name, const std::string& x, int64_t out_features,
                         LinearInit init);
  // torch.nn.Linear on an input of rank > 2 as torch.onnx exports it: MatMul by the
  // transposed weight [in, out] (an initializer), then Add the bias. Weight N(0, weight_std),
  // bias 0 (ConvNeXt's truncated normal, cut at +-2 = 100 standard deviations). Without
  // `bias` the MatMul alone (Swin's PatchMerging reduction), named `name`.
  std::string add_linear_nd(const std::string& name, const std::string& x, int64_t out_features,
                            float weight_std, bool bias = true);
  // MatMul of two values (attention's Q Kᵀ and P V): [..., M, K] x [..., K, N], the leading
  // dimensions equal.
  std::string add_matmul(const std::string& name, const std::string& a, const std::string& b);
  // Slice with constant starts, ends, axes and steps (opset 10+ inputs; ends may be
  // INT64_MAX, "to the end", as torch.onnx writes an open slice).
  std::string add_slice(const std::string& name, const std::string& x,
                        const std::vector<int64_t>& starts, const std::vector<int64_t>& ends,
                        const std::vector<int64_t>& axes, const std::vector<int64_t>& steps = {});
  // Gather of one constant scalar index along `axis` (torch's x[i]): the axis is dropped.
  std::string add_gather(const std::string& name, const std::string& x, int64_t index,
                         int64_t axis);
  // torch's F.dropout(x, p) with its default training=True as torch.onnx exports it (opset
  // 12+): Dropout with constant ratio and training_mode inputs and two outputs, the second
  // (the mask) unread. A copy only when ratio is 0 (Swin's attention and projection dropout).
  std::string add_training_dropout(const std::string& name, const std::string& x, float ratio);
  std::string add_sigmoid(const std::string& name, const std::string& x);
  // torch.nn.SiLU as exported at opset 17: x * Sigmoid(x).
  std::string add_silu(const std::string& name, const std::string& x);
  // torch.nn.GELU (exact) as exported before opset 20: x * (1 + Erf(x / sqrt 2)) * 0.5.
  std::string add_gelu(const std::string& name, const std::string& x);
  std::string add_transpose(const std::string& name, const std::string& x,
                            const std::vector<int64_t>& perm);
  // torch.nn.LayerNorm over the last axis (LayerNormalization, opset 17): scale 1, shift 0.
  std::string add_layer_norm(const std::string& name, const std::string& x, float epsilon);
  // A trainable per-channel scale of shape [C, 1, 1], every entry `value`, multiplied into
  // the N x C x H x W value x (ConvNeXt's layer scale).
  std::string add_channel_scale(const std::string& name, const std::string& x, float value);
  std::string add_concat(const std::string& name, const std::vector<std::string>& xs,
                         int64_t axis = 1);
  // Split along the channel axis into parts of the given sizes.
  std::vector<std::string> add_split(const std::string& name, const std::string& x,
                                     const std::vector<int64_t>& sizes);
  // ShuffleNet's channel shuffle: Reshape N x g x C/g x H x W, swap axes 1 and 2,
  // Reshape back to N x C x H x W.
  std::string add_channel_shuffle(const std::string& name, const std::string& x, int64_t groups);

  // A tensor of N(0, std_dev) draws from the next initializer stream, not added to the graph:
  // for a parameter that the export folds into a constant (Swin's relative position bias
  // table, gathered into a [1, heads, N, N] bias), which the caller then adds by add_fixed.
  Tensor draw_normal(const Shape& shape, float std_dev);

  const Shape& shape_of(const std::string& value) const;
  int64_t channels(const std::string& value) const { return shape_of(value).at(1); }

  // Names `value` (which a node produced) as the graph's single output and returns
  // the graph. The builder must not be used afterwards.
  ir::Graph finish(const std::string& value, const std::string& output_name = "logits");

 private:
  // Appends a node; its single output value takes the node's (unique) name.
  std::string emit(const std::string& name, const std::string& op_type,
                   std::vector<std::string> inputs, Shape out_shape,
                   std::map<std::string, ir::Attribute> attrs = {});
  std::string claim_name(const std::string& wanted);
  void record_value(const std::string& value, Shape shape);
  // A float tensor filled by `fill(philox, i)` for element i, from the next stream.
  template <typename Fill>
  Tensor draw(const Shape& shape, Fill fill);
  // Adds a float initializer filled by `fill(philox, i)` for element i.
  template <typename Fill>
  std::string add_param(const std::string& name, const Shape& shape, Fill fill);
  std::string add_normal(const std::string& name, const Shape& shape, float std_dev);  // N(0, std)
  std::string add_uniform(const std::string& name, const Shape& shape, float bound);   // U(+-bound)
  std::string add_constant(const std::string& name, Tensor value);
  std::string linear_from(const std::string& name, const std::string& x, int64_t out_features,
                          std::string weight, std::string bias);

  ir::Graph graph_;
  uint64_t seed_;
  uint64_t next_stream_ = 0;
  std::set<std::string> used_names_;   // node, value and initializer names share one space
  std::string relu6_min_, relu6_max_;  // Clip bounds, created with the first ReLU6
  std::string gelu_sqrt2_, gelu_one_, gelu_half_;  // GELU's constants, with the first GELU
  std::map<std::string, Shape> shapes_;
};

}  // namespace frugal::zoo
