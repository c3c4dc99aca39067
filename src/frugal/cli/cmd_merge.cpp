// frugal merge A.sqlite B.sqlite -o C.sqlite: combine results stores (sharded sweeps).
#include <cstdio>

#include "frugal/cli/command.h"
#include "frugal/explore/store.h"

namespace frugal::cli {
namespace {

struct MergeArgs {
  std::vector<std::string> inputs;
  std::string output;
};

void setup(CLI::App& app) {
  auto a = std::make_shared<MergeArgs>();
  auto* sub = app.add_subcommand("merge", "Combine sweep results stores into one");
  sub->footer(
      "A point in several inputs: an ok result wins over a failed one, else the later input wins.\n"
      "Examples:\n  frugal merge part1.sqlite part2.sqlite -o study.sqlite");
  sub->add_option("inputs", a->inputs, "results stores (SQLite)")->required();
  sub->add_option("-o,--output", a->output, "store written (created, or added to)")->required();
  sub->callback([a] {
    size_t n = explore::merge_stores(a->inputs, a->output);
    std::printf("merged %zu points from %zu stores into %s\n", n, a->inputs.size(), a->output.c_str());
  });
}

}  // namespace

FRUGAL_REGISTER_COMMAND(merge, 62, setup);

}  // namespace frugal::cli
