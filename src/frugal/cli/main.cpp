// frugal: one binary, git-style subcommands.

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <exception>

#include "frugal/cli/command.h"
#include "frugal/core/error.h"
#include "frugal/core/version.h"
#include "frugal/kernels/thread_environment.h"

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
const std::vector<CommandEntry>& commands() {
  return registry();
}

std::string one_line(std::string text) {
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
  for (char& c : text)
    if (c == '\n' || c == '\r') c = ' ';
  return text;
}

std::string command_path(const CLI::App& app) {
  std::string path = "frugal";
  const CLI::App* at = &app;
  for (;;) {
    const auto subs = at->get_subcommands();
    if (subs.empty()) return path;
    at = subs.front();
    path += " " + at->get_name();
  }
}
void set_exit_code(int code) {
  g_exit_code = code;
}
int exit_code() {
  return g_exit_code;
}

}  // namespace frugal::cli

int main(int argc, char** argv) {
  using namespace frugal;
  // Thread runtimes read their environment once, when they load: the backends' defaults
  // (e.g. how long OpenMP workers spin) apply only to a new process image.
  kernels::apply_thread_environment(argv);
  CLI::App app{
      "frugal: for this network, where should it run and how should it be compressed?\n"
      "Loads ONNX models, runs, compresses and measures them.",
      "frugal"};
  app.require_subcommand(1);
  app.set_version_flag("--version",
                       std::string("frugal ") + FRUGAL_VERSION + " (" + FRUGAL_GIT_REV + ")");
  auto entries = cli::commands();
  std::sort(entries.begin(), entries.end(),
            [](const auto& a, const auto& b) { return a.order < b.order; });
  for (const auto& e : entries) e.setup(app);
  const auto known = app.get_subcommands([](const CLI::App*) { return true; });
  if (argc >= 2 && argv[1][0] != '-' &&
      std::none_of(known.begin(), known.end(),
                   [&](const CLI::App* c) { return c->check_name(argv[1]); })) {
    std::string names;
    for (const auto* c : known) names += (names.empty() ? "" : ", ") + c->get_name();
    std::fprintf(stderr, "frugal: error: '%s' is not a frugal command (commands: %s)\n", argv[1],
                 names.c_str());
    return 1;
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // CLI11 prints help and version itself (exit 0); a usage error gets one line, naming the
    // command so the user knows whose --help to read (CLI11's own form adds a second line).
    if (e.get_exit_code() == 0) return app.exit(e);
    std::fprintf(stderr, "frugal: error: %s (see %s --help)\n", cli::one_line(e.what()).c_str(),
                 cli::command_path(app).c_str());
    return 1;
  } catch (const UserError& e) {
    std::fprintf(stderr, "frugal: error: %s\n", cli::one_line(e.what()).c_str());
    return 1;
  } catch (const InternalError& e) {
    std::fprintf(stderr, "frugal: internal error: %s\n", cli::one_line(e.what()).c_str());
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
