// The flags of the options every command that builds a Session shares (run, info --plan,
// bench, eval, compare, ...): backends, precision, number formats, threads, batch and input
// shapes. One parser, so that `frugal run` and `frugal bench` mean the same thing by each flag.
#pragma once

#include <CLI/CLI.hpp>
#include <string>
#include <vector>

#include "frugal/measure/engine.h"

namespace frugal::cli {

// The engine options live in the library (measure/engine.h), so that every workflow and
// the Python module build Sessions the same way; the CLI only adds their flags.
using EngineArgs = measure::EngineOptions;
using measure::backend_list;
using measure::session_options;

// Adds --backend, --precision, --calibration, --format, --threads, --batch, --shape.
void add_engine_options(CLI::App* sub, EngineArgs& a);

}  // namespace frugal::cli
