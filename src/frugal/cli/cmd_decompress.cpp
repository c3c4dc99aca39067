// frugal decompress FILE.fgz -o OUT.onnx: reads the compressed container
// (compress/container.h) and writes the exact model it encodes as ONNX.
#include <cstdio>
#include <filesystem>

#include "frugal/cli/command.h"
#include "frugal/cli/common.h"
#include "frugal/compress/container.h"
#include "frugal/core/error.h"
#include "frugal/ir/onnx_io.h"

namespace frugal::cli {
namespace {

struct DecompressArgs {
  std::string input;
  std::string output;
  bool json = false;
};

void decompress(const DecompressArgs& a) {
  std::error_code ec;
  if (std::filesystem::equivalent(a.input, a.output, ec))
    throw UserError("-o " + a.output + ": is the input file; write the model elsewhere");
  const ir::Graph g = compress::read_fgz(a.input);
  ir::save_onnx(g, a.output);
  int64_t bytes = 0;
  for (const auto& [name, t] : g.initializers) bytes += static_cast<int64_t>(t.nbytes());
  const auto in_bytes = static_cast<int64_t>(std::filesystem::file_size(a.input, ec));
  if (a.json) {
    print_json({{"input", a.input},
                {"output", a.output},
                {"fgz_bytes", in_bytes},
                {"initializers", g.initializers.size()},
                {"weight_bytes", bytes}});
    return;
  }
  std::printf("read      %s (%s B, %zu tensors, checksums good)\n", a.input.c_str(),
              with_commas(in_bytes).c_str(), g.initializers.size());
  std::printf("wrote     %s (weights %s B as loaded)\n", a.output.c_str(),
              with_commas(bytes).c_str());
}

void setup(CLI::App& app) {
  auto a = std::make_shared<DecompressArgs>();
  auto* sub = app.add_subcommand("decompress",
                                 "Read a .fgz container (frugal compress --encode) back to ONNX");
  sub->footer(
      "The model written is bit-exact with the one compress encoded.\n"
      "Example:\n"
      "  frugal compress lenet300.onnx --prune 0.92 --cluster fc=5 --encode -o l.fgz\n"
      "  frugal decompress l.fgz -o l.onnx\n"
      "See docs/compression.md.");
  sub->add_option("file", a->input, ".fgz file")->required();
  sub->add_option("-o,--output", a->output, "ONNX model to write")->required();
  sub->add_flag("--json", a->json, "machine-readable output");
  sub->callback([a] { decompress(*a); });
}

}  // namespace

FRUGAL_REGISTER_COMMAND(decompress, 48, setup);

}  // namespace frugal::cli
