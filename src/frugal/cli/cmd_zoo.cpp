// frugal zoo NAME -o FILE.onnx: standard architectures built in C++, seeded.
#include <cstdio>

#include "frugal/cli/command.h"
#include "frugal/cli/common.h"
#include "frugal/ir/onnx_io.h"
#include "frugal/zoo/zoo.h"

namespace frugal::cli {
namespace {

struct ZooArgs {
  std::string name, output;
  uint64_t seed = 0;
  bool list = false;
};

void setup(CLI::App& app) {
  auto a = std::make_shared<ZooArgs>();
  auto* sub = app.add_subcommand("zoo", "Build a standard architecture as an ONNX file");
  sub->footer("Examples:\n  frugal zoo resnet18 -o resnet18.onnx\n"
              "  frugal zoo lenet5 -o lenet5.onnx --seed 7\n  frugal zoo --list");
  sub->add_option("name", a->name, "model name (see --list)");
  sub->add_option("-o,--output", a->output, "ONNX file to write");
  sub->add_option("--seed", a->seed, "seed of the He initialization (default 0)");
  sub->add_flag("--list", a->list, "list the available models");
  sub->callback([a] {
    if (a->list || a->name.empty()) {
      for (const auto& n : zoo::names()) std::printf("%s\n", n.c_str());
      if (!a->list) throw UserError("zoo: give a model name (one of the above)");
      return;
    }
    if (a->output.empty()) throw UserError("zoo: -o FILE.onnx is required");
    ir::Graph g = zoo::build(a->name, a->seed);
    ir::save_onnx(g, a->output);
    std::printf("wrote %s (%s, seed %llu)\n", a->output.c_str(), a->name.c_str(),
                static_cast<unsigned long long>(a->seed));
  });
}

}  // namespace

FRUGAL_REGISTER_COMMAND(zoo, 5, setup);

}  // namespace frugal::cli
