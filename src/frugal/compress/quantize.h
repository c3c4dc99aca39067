// Post-training quantization, Graph -> Graph (the input graph is never modified):
//  - static int8: weights symmetric per output channel (or per tensor), activations per
//    tensor from calibrated ranges (runtime/calibrate.h), exported as a QDQ ONNX graph:
//    int8 weight initializers + DequantizeLinear, QuantizeLinear -> DequantizeLinear on the
//    activations entering and leaving Conv/Gemm/MatMul, biases int32 + DequantizeLinear
//    (scale = input scale x weight scale, zero point 0), the form ONNX Runtime's quantizer
//    writes and its QDQ selectors fuse into QLinearConv/QGemm/QLinearMatMul;
//    optional cross-layer equalization (cle.h) and empirical bias correction
//    (bias_correction.h) before quantizing;
//  - int4 weight-only: per-group symmetric scales along the reduction dimension; exported as
//    int8-stored int4 values (-7..7) + per-axis DequantizeLinear over [rows x groups, G] and
//    Reshape/Slice back (blocked DequantizeLinear needs opset 21; frugal reads up to 18);
//  - dynamic int8 for Gemm/MatMul with constant weights: DynamicQuantizeLinear +
//    MatMulInteger (u8 x s8) + Cast + per-column scale, which ONNX Runtime also runs.
#pragma once

#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "frugal/ir/graph.h"
#include "frugal/runtime/calibrate.h"
#include "frugal/runtime/session.h"

namespace frugal::compress {

// --quant SPEC:
//   int8[:per-channel|per-tensor][,calib=minmax|percentile[:P]|mse|entropy][,samples=N]
//       [,sym|asym][,bias-correct][,cle]
//   int8:dynamic                      (Gemm/MatMul, activations quantized at run time)
//   int4[:group=G]                    (weight-only, G in 32, 64, 128; default 32)
struct QuantSpec {
  enum class Kind { kStatic8, kDynamic8, kWeightInt4 };
  Kind kind = Kind::kStatic8;
  bool per_channel = true;
  runtime::CalibrationOptions calib;  // method, percentile; calib.symmetric mirrors `symmetric`
  int64_t samples = 0;                // calibration samples to use (0: all given)
  bool symmetric = false;             // activations s8 symmetric instead of u8 asymmetric
  bool bias_correct = false;
  bool cle = false;
  int64_t group = 32;
  // Quantizable nodes left in float32 by name (accuracy-driven mixed precision keeps its
  // fp32/bf16 layers out of the QDQ graph); reported as "fp32 (kept float)".
  std::set<std::string> keep_float;
  bool needs_calibration() const { return kind == Kind::kStatic8; }
};

// UserError "--quant 'TEXT': reason" (origin names the option) for a bad spec.
QuantSpec parse_quant_spec(const std::string& text, const std::string& origin = "--quant");
std::string quant_spec_name(const QuantSpec& spec);

struct LayerQuant {
  std::string node, op_type;
  std::string precision;  // "int8 w/a", "int4 w (g32)", "int8 dynamic", "fp32 (reason)"
  int64_t weight_bytes_before = 0;  // float32 weight (bias excluded)
  int64_t weight_bytes_after = 0;   // quantized values + scales (int4 counted at 4 bits)
  std::string input;                // the activation quantized at its input (static)
  std::optional<kernels::ValueRange> input_range;
};

struct QuantResult {
  ir::Graph graph;     // the exported graph (QDQ, int4 DQ weights or dynamic)
  ir::Graph prepared;  // float graph it quantizes: folded, equalized, bias-corrected
  runtime::RangesFile ranges;  // static int8: chosen range of every float value of `prepared`
  std::vector<LayerQuant> layers;
  std::vector<std::string> notes;  // CLE pairs, bias corrections, values left float
  int64_t weight_bytes_before = 0, weight_bytes_after = 0;
};

// Applies `spec`. `calibration`: input batches of the model (needed for static int8, and
// for bias correction); `base` gives the backends calibration runs on (float32). Throws
// UserError naming the node or option when the graph cannot be quantized as asked.
QuantResult quantize(const ir::Graph& graph, const QuantSpec& spec,
                     const std::vector<std::vector<Tensor>>& calibration,
                     const runtime::SessionOptions& base = {});

// Static int8 with the activation ranges given instead of calibrated (ranges learned in
// quantization-aware training, train/qat.h, or a ranges file): the same folding and QDQ
// insertion as quantize(). `ranges` must name the values of the prepared (folded) graph;
// a quantized activation without a range stays float (a note says so). Throws UserError
// for a spec other than static int8, or with cle/bias-correct (they change the values the
// ranges describe).
QuantResult quantize_with_ranges(const ir::Graph& graph, const QuantSpec& spec,
                                 const runtime::RangesFile& ranges);

// Folding before quantization: constants, identities, BatchNorm into Conv/Gemm, dead nodes.
ir::Graph prepare_for_quantization(const ir::Graph& graph);

// u8 asymmetric (or s8 symmetric) parameters of an activation range, widened to include 0;
// an all-zero range gets scale 1 (every element and the zero point quantize to 0). The u8
// form is the same arithmetic as cpu:int8's activation_quant, so both agree on the grid.
struct ActivationParams {
  float scale = 1.0f;
  int32_t zero_point = 0;
};
ActivationParams activation_params(const kernels::ValueRange& range, bool symmetric);

// Symmetric per-index quantization of `w` along `axis` (-1: one scale for the tensor):
// q = round(w / scale) in [-qmax, qmax], scale = max|w| / qmax over the slice (1 when 0).
struct WeightQuant {
  Tensor q;  // int8, same shape as w
  std::vector<float> scales;
};
WeightQuant quantize_weight(const Tensor& w, int64_t axis, int qmax = 127);
// scale * q back to float32 (the fake-quantized weight).
Tensor dequantize_weight(const WeightQuant& wq, int64_t axis);

// JSON of a result (per layer, totals, ranges summary, notes) for --json and the CLI.
nlohmann::ordered_json quant_report_json(const QuantResult& result, const QuantSpec& spec);

// Internal pieces shared by quantize.cpp and quant_weights.cpp.
namespace detail {
// x viewed as outer x channels x inner around `axis` (channels 1 for axis -1).
struct Layout {
  int64_t outer = 1, channels = 1, inner = 1;
};
Layout layout_of(const Shape& s, int64_t axis);
// The constant weight input of a quantizable node (Conv/Gemm/MatMul), its reduction layout
// and output-channel axis; nullopt with `why` when the node is not quantizable.
struct WeightSite {
  std::string weight;  // initializer name
  int64_t out_axis = 0;  // output-channel axis of the weight
  bool reduction_rows = true;  // weight rows (axis 0) are output channels (Conv, Gemm transB)
};
std::optional<WeightSite> weight_site(const ir::Graph& g, const ir::Node& n, std::string& why);
// Per-group int4 fake quantization of a weight (the grid quantize_int4_weights exports).
Tensor int4_fake_quant(const Tensor& w, const WeightSite& site, int64_t group);
ir::Graph quantize_int4_weights(const ir::Graph& prepared, const QuantSpec& spec,
                                QuantResult& result);
ir::Graph quantize_dynamic(const ir::Graph& prepared, const QuantSpec& spec, QuantResult& result);
}  // namespace detail

}  // namespace frugal::compress
