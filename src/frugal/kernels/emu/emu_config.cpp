#include "frugal/kernels/emu/emu_config.h"

#include "frugal/numeric/format_spec.h"

namespace frugal::kernels::emu {
namespace {

numeric::FormatSpec to_spec(const EmuConfig& c) {
  numeric::FormatSpec s;
  s.weights = c.weights;
  s.activations = c.activations;
  s.acc.format = c.acc.format;
  s.acc.chunk = c.acc.chunk;
  s.acc.compensated = c.acc.compensated;
  s.acc.rounding = c.rounding;
  s.rounding = c.rounding;
  return s;
}

}  // namespace

std::string_view emu_config_grammar() {
  return numeric::format_spec_grammar();
}

// The grammar and its parser live in numeric (the accelerator model reads the same strings).
EmuConfig parse_emu_config(std::string_view spec) {
  const numeric::FormatSpec s = numeric::parse_format_spec(spec);
  EmuConfig c;
  c.weights = s.weights;
  c.activations = s.activations;
  c.acc.format = s.acc.format;
  c.acc.chunk = s.acc.chunk;
  c.acc.compensated = s.acc.compensated;
  c.acc.rounding = s.rounding;
  c.rounding = s.rounding;
  return c;
}

std::string to_string(const EmuConfig& c) {
  return numeric::to_string(to_spec(c));
}

}  // namespace frugal::kernels::emu
