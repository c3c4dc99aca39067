// The engine options every workflow that builds a Session shares (frugal run, bench, eval,
// compare, compress, the Python module): backends, precision, number formats, threads,
// batch and input shapes, and how they become runtime::SessionOptions. One place, so that
// `frugal bench --precision int8` and `frugal.Session(precision="int8")` mean the same.
// Errors name the CLI's option (--threads, --precision, ...): the Python module reports the
// same one line.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "frugal/core/tensor.h"
#include "frugal/ops/infer.h"
#include "frugal/runtime/session.h"

namespace frugal::measure {

struct EngineOptions {
  std::vector<std::string> backends{"auto"};  // preference order (kernels::auto_backends)
  std::string precision = "fp32";  // cpu: fp32 | bf16 | int8; cuda: fp32 | tf32 | fp16 | bf16
  std::string calibration;  // int8 activation ranges: FILE.json | random:N[:SEED] | a.npy,...
  std::string format;       // emulator formats (backend emu)
  int threads = 1;
  double parallel_min_us = -1;  // SessionOptions::parallel_min_us (-1: its default)
  int64_t batch = 1;
  std::vector<std::string> shapes;   // NAME=DIMS
  bool no_optimize = false;          // skip the graph passes (SessionOptions::optimize)
  std::string sparse = "auto";       // sparse-weight kernels of the cpu backend: off|auto|force
  std::string precision_map;         // FILE.json {node: fp32|bf16|int8} (compress --max-drop)
  std::string device_graphs = "on";  // on | off: SessionOptions::device_graphs
};

// Checks the values (UserError naming the option) and builds SessionOptions: the
// precision selects the cpu backend's variant ("cpu" -> "cpu:bf16"; int8 quantizes only
// Conv/Gemm/MatMul, so "cpu" -> "cpu:int8,cpu"). With precision int8 the activation
// ranges come from `calibration`; computing them (random:N, NPY files) runs the float32
// model, loaded from `origin` (the model file) when `graph` is not given.
runtime::SessionOptions session_options(const EngineOptions& a, const std::string& origin,
                                        const ir::Graph* graph = nullptr);

// "cpu:bf16,ref" for headers.
std::string backend_list(const runtime::SessionOptions& opt);

// "1x3x224x224" -> {1,3,224,224}; throws UserError naming `option` on bad text.
Shape parse_shape(const std::string& text, const std::string& option);
// "name=1x3x224x224" entries -> InferOptions.input_shapes.
void parse_input_shapes(const std::vector<std::string>& specs, ops::InferOptions& opt);

// "random" / "random:SEED" (floats ~ N(0,1), bools fair, integers in [0,10), or in [0, rows)
// when `graph` reads the input as Gather indices, 0 or 1 when it casts it to a float:
// random_input.h's random_int_limit) or an
// NPY file, checked against the port's dtype and shape (UserError naming the file and input).
Tensor make_input(const std::string& spec, const runtime::Session::Port& port,
                  const ir::Graph* graph = nullptr);

// The inputs of a run of `session`: given(i, port) for the first `given_count` ports (NPY
// files, the caller's arrays), seeded random (random:0, integers bounded by the session's
// graph) for the rest; more than the model has is a UserError naming `option`.
std::vector<Tensor> make_inputs(
    const runtime::Session& session, size_t given_count, const std::string& option,
    const std::function<Tensor(size_t, const runtime::Session::Port&)>& given);

}  // namespace frugal::measure
