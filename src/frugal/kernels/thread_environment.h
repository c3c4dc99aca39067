// Process environment a backend's thread runtime reads once, when it loads (before main):
// each backend that starts threads may register defaults for it, and a program that wants
// them (the CLI, frugal_peer) applies them and runs itself again. Code outside
// kernels/<backend>/ sees only names and values, never the runtime behind them.
#pragma once

#include <string>
#include <utility>
#include <vector>

namespace frugal::kernels {

struct EnvironmentDefault {
  std::string name, value;
  // The default stays unset when the user set any of these (or `name` itself): the user's
  // choice of the runtime's behaviour wins.
  std::vector<std::string> user_choices;
  // When set, computes the value at the moment the default is applied (before the runtime
  // loads), e.g. from how busy the machine is; `value` is then what it gives on a quiet
  // machine. Registered by the backend, so the policy stays inside it.
  std::string (*choose)() = nullptr;
};
void register_thread_environment(EnvironmentDefault entry);

// Every registered default, in registration order.
std::vector<EnvironmentDefault> thread_environment();

// Sets (setenv) each registered default that neither it nor one of its user_choices is set
// in this process's environment. Returns the names it set: when not empty, the runtime has
// already read its environment, and only a new process image (execv) applies them.
std::vector<std::string> set_thread_environment_defaults();

// The registered names and their user_choices that are set in this process's environment,
// with their values, in registration order: what the thread runtimes run with (a record's
// machine section shows it).
std::vector<std::pair<std::string, std::string>> thread_environment_in_effect();

// For a program's main, first thing: sets the defaults as above and, if it set any, runs the
// program again (execv of /proc/self/exe with the same arguments) so that the runtimes read
// them. If exec fails, the program goes on with the runtimes' own defaults.
void apply_thread_environment(char** argv);

}  // namespace frugal::kernels

#define FRUGAL_REGISTER_THREAD_ENVIRONMENT(ident, entry) \
  static const bool frugal_thread_environment_##ident =  \
      (::frugal::kernels::register_thread_environment(entry), true)
