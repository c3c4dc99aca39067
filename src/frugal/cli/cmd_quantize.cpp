// frugal quantize MODEL -o OUT.onnx --quant SPEC [--data D | --calibration ...]: post-training
// quantization (compress/quantize.h) through the shared --quant step (quant_step.h).
#include <cstdio>
#include <filesystem>

#include "frugal/cli/command.h"
#include "frugal/cli/common.h"
#include "frugal/cli/quant_step.h"
#include "frugal/core/error.h"
#include "frugal/ir/onnx_io.h"

namespace frugal::cli {
namespace {

struct QuantizeArgs {
  std::string model;
  std::string output;
  QuantArgs quant;
  bool json = false;
};

void quantize_model(const QuantizeArgs& a) {
  if (a.output.empty()) throw UserError("-o: required (the quantized ONNX file)");
  std::error_code ec;
  if (std::filesystem::equivalent(a.model, a.output, ec))
    throw UserError("-o " + a.output + ": is the input model; write the quantized model elsewhere");
  const ir::Graph g = ir::load_onnx(a.model);
  QuantStep step = apply_quant_step(g, a.model, a.quant);
  ir::save_onnx(step.result.graph, a.output);
  std::string ranges;
  if (step.spec.kind == compress::QuantSpec::Kind::kStatic8) {
    ranges = ranges_path(a.output);
    runtime::save_ranges(ranges, step.result.ranges);
    step.report["ranges_file"] = ranges;
  }
  step.report["model"] = a.model;
  step.report["output"] = a.output;
  for (const auto& w : step.warnings) std::fprintf(stderr, "warning: %s\n", w.c_str());
  if (a.json) {
    print_json(step.report);
    return;
  }
  std::printf("frugal quantize %s -> %s\n", a.model.c_str(), a.output.c_str());
  std::printf("spec       %s\n", step.report["spec"].get<std::string>().c_str());
  print_quant_step(step, ranges);
}

void setup(CLI::App& app) {
  auto a = std::make_shared<QuantizeArgs>();
  auto* sub = app.add_subcommand("quantize", "Post-training quantization (int8 QDQ, int4 weights, dynamic)");
  sub->footer(
      "Static int8 writes a QDQ ONNX model that ONNX Runtime runs, and OUT.ranges.json (the "
      "chosen activation ranges) for --precision int8 --calibration.\n"
      "Examples:\n"
      "  frugal quantize lenet.onnx -o lenet.int8.onnx --quant int8 --data fashion-mnist\n"
      "  frugal quantize m.onnx -o q.onnx --quant int8:per-channel,calib=entropy,samples=512,cle,bias-correct --data fashion-mnist\n"
      "  frugal quantize m.onnx -o q.onnx --quant int8,calib=percentile:99.99 --calibration a.npy,b.npy\n"
      "  frugal quantize m.onnx -o q4.onnx --quant int4:group=32 --data fashion-mnist\n"
      "  frugal quantize m.onnx -o qd.onnx --quant int8:dynamic\n"
      "See docs/quantization.md.");
  sub->add_option("model", a->model, "ONNX model file")->required();
  sub->add_option("-o,--output", a->output, "quantized ONNX file")->required();
  add_quant_options(*sub, a->quant);
  sub->add_flag("--json", a->json, "print the report as JSON");
  sub->callback([a] { quantize_model(*a); });
}

}  // namespace

FRUGAL_REGISTER_COMMAND(quantize, 47, setup);

}  // namespace frugal::cli
