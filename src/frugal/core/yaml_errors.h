// Error locations for the YAML files frugal reads (sweep specs, devices, accelerator
// architectures): every message starts "ORIGIN:LINE:COL: ", so that one shape of error serves
// all of them (one line, naming the file and the place).
#pragma once

#include <yaml-cpp/yaml.h>

#include <string>

namespace frugal {

// "ORIGIN:LINE:COL" (1-based) of a node, or ORIGIN alone where the node carries no mark (a
// node that is absent from its document).
std::string yaml_where(const std::string& origin, const YAML::Node& at);

// Throws UserError("ORIGIN:LINE:COL: msg").
[[noreturn]] void yaml_fail(const std::string& origin, const YAML::Node& at,
                            const std::string& msg);

// YAML::Load, a syntax error becoming UserError("ORIGIN:LINE:COL: YAML syntax error: why").
YAML::Node yaml_load(const std::string& text, const std::string& origin);

}  // namespace frugal
