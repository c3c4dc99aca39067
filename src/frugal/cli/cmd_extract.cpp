// frugal extract MODEL --inputs A,B --outputs C -o SUB.onnx: cut a subgraph out by hand.
#include <cstdio>

#include "frugal/cli/command.h"
#include "frugal/core/error.h"
#include "frugal/core/strings.h"
#include "frugal/ir/onnx_io.h"
#include "frugal/ir/subgraph.h"

namespace frugal::cli {
namespace {

struct ExtractArgs {
  std::string model, inputs, outputs, output;
};

std::vector<std::string> names(const std::string& text, const std::string& option) {
  std::vector<std::string> out;
  for (const auto& n : split(text, ','))
    if (!n.empty()) out.push_back(n);
  if (out.empty() && option == "--outputs") throw UserError(option + ": give at least one value");
  return out;
}

void setup(CLI::App& app) {
  auto a = std::make_shared<ExtractArgs>();
  auto* sub = app.add_subcommand("extract", "Cut the subgraph between given values out of a model");
  sub->footer(
      "The subgraph holds the nodes the outputs depend on, stopping at the inputs;\n"
      "initializers it reads come along.\n"
      "Examples:\n  frugal extract resnet18.onnx --inputs input --outputs relu_1 -o head.onnx");
  sub->add_option("model", a->model, "ONNX model")->required();
  sub->add_option("--inputs", a->inputs, "comma-separated values that become the inputs");
  sub->add_option("--outputs", a->outputs, "comma-separated values that become the outputs")
      ->required();
  sub->add_option("-o,--output", a->output, "ONNX file to write")->required();
  sub->callback([a] {
    const ir::Graph g = ir::load_onnx(a->model);
    ir::Graph s;
    try {
      s = ir::extract(g, names(a->inputs, "--inputs"), names(a->outputs, "--outputs"));
    } catch (const UserError& e) {
      throw UserError(a->model + ": " + e.what());
    }
    ir::save_onnx(s, a->output);
    std::printf("wrote %s (%zu of %zu nodes, %zu inputs, %zu outputs, %zu initializers)\n",
                a->output.c_str(), s.nodes.size(), g.nodes.size(), s.inputs.size(),
                s.outputs.size(), s.initializers.size());
  });
}

}  // namespace

FRUGAL_REGISTER_COMMAND(extract, 42, setup);

}  // namespace frugal::cli
