// Subcommands register themselves (one file per subcommand, cmd_<name>.cpp), so that
// adding a command never edits main.cpp. The CLI only parses and prints: every
// feature it exposes is a library call.
#pragma once

#include <CLI/CLI.hpp>
#include <functional>
#include <string>

namespace frugal::cli {

// Adds the subcommand to `app` (app.add_subcommand(...)) with its options and callback.
// A callback reports user errors by throwing frugal::UserError (exit 1); anything else
// escaping is an internal error (exit 2).
using CommandSetup = std::function<void(CLI::App& app)>;

struct CommandEntry {
  std::string name;
  int order;  // position in --help
  CommandSetup setup;
};

void register_command(std::string name, int order, CommandSetup setup);
const std::vector<CommandEntry>& commands();

// `text` on one line (newlines become spaces, trailing blanks dropped): error messages are
// one line each.
std::string one_line(std::string text);
// "frugal SUB ..." for the subcommands `app` parsed so far (for "see ... --help").
std::string command_path(const CLI::App& app);

// Process exit code a command callback wants (0 unless set).
void set_exit_code(int code);
int exit_code();

}  // namespace frugal::cli

#define FRUGAL_REGISTER_COMMAND(ident, order, fn)   \
  static const bool frugal_cmd_registered_##ident = \
      (::frugal::cli::register_command(#ident, order, fn), true)
