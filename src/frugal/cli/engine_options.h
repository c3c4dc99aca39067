// The options every command that builds a Session shares (run, info --plan, bench, eval,
// compare, ...): backends, precision, number formats, threads, batch and input shapes.
// One parser, so that `frugal run` and `frugal bench` mean the same thing by each flag.
#pragma once

#include <CLI/CLI.hpp>
#include <string>
#include <vector>

#include "frugal/runtime/session.h"

namespace frugal::cli {

struct EngineArgs {
  std::vector<std::string> backends{"auto"};  // preference order (kernels::auto_backends)
  std::string precision = "fp32";             // of the cpu backend: fp32 | bf16 | int8
  std::string calibration;  // int8 activation ranges: FILE.json | random:N[:SEED] | a.npy,...
  std::string format;       // emulator formats (backend emu)
  int threads = 1;
  double parallel_min_us = -1;  // SessionOptions::parallel_min_us (-1: its default)
  int64_t batch = 1;
  std::vector<std::string> shapes;  // NAME=DIMS
  bool no_optimize = false;         // skip the graph passes (SessionOptions::optimize)
  std::string sparse = "auto";      // sparse-weight kernels of the cpu backend: off|auto|force
  std::string precision_map;        // FILE.json {node: fp32|bf16|int8} (compress --max-drop)
};

// Adds --backend, --precision, --calibration, --format, --threads, --batch, --shape.
void add_engine_options(CLI::App* sub, EngineArgs& a);

// Checks the values (UserError naming the option) and builds SessionOptions: the
// precision selects the cpu backend's variant ("cpu" -> "cpu:bf16"; int8 quantizes only
// Conv/Gemm/MatMul, so "cpu" -> "cpu:int8,cpu"). With --precision int8 the activation
// ranges come from --calibration; computing them (random:N, NPY files) runs the float32
// model, loaded from `origin` (the model file) when `graph` is not given.
runtime::SessionOptions session_options(const EngineArgs& a, const std::string& origin,
                                        const ir::Graph* graph = nullptr);

// "cpu:bf16,ref" for headers.
std::string backend_list(const runtime::SessionOptions& opt);

}  // namespace frugal::cli
