// The precision-map file: {"node": "fp32" | "bf16" | "int8", ...}, what `frugal compress
// --max-drop` writes (OUT.precision.json) and `--precision-map FILE` reads.
#pragma once

#include <string>

#include "frugal/compress/mixed_precision.h"

namespace frugal::compress {

// UserError "--precision-map FILE: reason" for an unreadable file, bad JSON or precision.
PrecisionMap load_precision_map(const std::string& path);
// The same from JSON text; `origin` begins each error ("--precision-map FILE").
PrecisionMap precision_map_from_json(const std::string& text, const std::string& origin);
// UserError "FILE: cannot write".
void save_precision_map(const std::string& path, const PrecisionMap& map);

}  // namespace frugal::compress
