// frugal: one binary, git-style subcommands.
#include <algorithm>
#include <cstdio>
#include <exception>

#include "frugal/cli/command.h"
#include "frugal/core/error.h"

namespace frugal::cli {
namespace {
std::vector<CommandEntry>& registry() {
  static std::vector<CommandEntry> r;
  return r;
}
int g_exit_code = 0;
}  // namespace

void register_command(std::string name, int order, CommandSetup setup) {
  registry().push_back({std::move(name), order, std::move(setup)});
}
const std::vector<CommandEntry>& commands() { return registry(); }
void set_exit_code(int code) { g_exit_code = code; }
int exit_code() { return g_exit_code; }

}  // namespace frugal::cli

int main(int argc, char** argv) {
  using namespace frugal;
  CLI::App app{
      "frugal: for this network, where should it run and how should it be compressed?\n"
      "Loads ONNX models, runs, compresses and measures them.",
      "frugal"};
  app.require_subcommand(1);
  app.set_version_flag("--version", std::string("frugal ") + FRUGAL_VERSION + " (" +
                                        FRUGAL_GIT_REV + ")");
  auto entries = cli::commands();
  std::sort(entries.begin(), entries.end(),
            [](const auto& a, const auto& b) { return a.order < b.order; });
  for (const auto& e : entries) e.setup(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // CLI11 prints help/version with exit 0 and usage errors with its own message.
    int rc = app.exit(e);
    return rc == 0 ? 0 : 1;
  } catch (const UserError& e) {
    std::fprintf(stderr, "frugal: error: %s\n", e.what());
    return 1;
  } catch (const InternalError& e) {
    std::fprintf(stderr, "frugal: internal error: %s\n", e.what());
    return 2;
  } catch (const std::bad_alloc&) {
    std::fprintf(stderr, "frugal: error: out of memory\n");
    return 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "frugal: internal error: %s\n", e.what());
    return 2;
  }
  return cli::exit_code();
}
