#include "frugal/cli/engine_options.h"

#include "frugal/cli/common.h"
#include "frugal/core/error.h"

namespace frugal::cli {

void add_engine_options(CLI::App* sub, EngineArgs& a) {
  sub->add_option("--backend", a.backends,
                  "backends in order of preference, e.g. cpu,ref (default ref)")
      ->delimiter(',');
  sub->add_option("--precision", a.precision,
                  "precision of the cpu backend: fp32 (default) or bf16");
  sub->add_option("--format", a.format,
                  "number formats of the emu backend, e.g. w=e4m3,a=e4m3,acc=fp16:chunk=32");
  sub->add_option("--threads", a.threads, "compute threads of the cpu backend (default 1)");
  sub->add_option("--batch", a.batch, "size of a dynamic batch dimension (default 1)");
  sub->add_option("--shape", a.shapes, "full shape of an input: NAME=DIMS");
}

runtime::SessionOptions session_options(const EngineArgs& a, const std::string& origin) {
  if (a.threads < 1) throw UserError("--threads: must be 1 or more");
  if (a.batch < 1) throw UserError("--batch: must be at least 1");
  runtime::SessionOptions opt;
  opt.origin = origin;
  opt.threads = a.threads;
  opt.infer.batch = a.batch;
  parse_input_shapes(a.shapes, opt.infer);
  opt.backends = a.backends;
  if (a.precision != "fp32") {
    if (a.precision != "bf16")
      throw UserError("--precision: '" + a.precision + "' is not one of fp32, bf16");
    bool found = false;
    for (auto& b : opt.backends) {
      if (b == "cpu") {
        b = "cpu:" + a.precision;
        found = true;
      }
    }
    if (!found)
      throw UserError("--precision: " + a.precision +
                      " applies to the cpu backend; add --backend cpu,ref");
  }
  if (!a.format.empty()) {
    bool emu = false;
    for (const auto& b : opt.backends) emu = emu || b == "emu";
    if (!emu) throw UserError("--format: applies to the emu backend; add --backend emu");
    opt.backend_config.format = a.format;
  }
  return opt;
}

std::string backend_list(const runtime::SessionOptions& opt) {
  std::string s;
  for (const auto& b : opt.backends) s += (s.empty() ? "" : ",") + b;
  return s;
}

}  // namespace frugal::cli
