// Small helpers shared by subcommands: option parsing and table printing.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "frugal/core/tensor.h"
#include "frugal/measure/engine.h"

namespace frugal::cli {

// Shapes and NAME=DIMS parsing live with the engine options (measure/engine.h).
using measure::parse_input_shapes;
using measure::parse_shape;

// A model file, or a zoo model built with `seed` (a name that is no file and has no '/' or
// ".onnx"); `command` prefixes the error when it is neither.
ir::Graph load_model(const std::string& what, uint64_t seed, const std::string& command);

// 1234567 -> "1,234,567"; 1.8e9 -> "1.81 G" (human form).
std::string with_commas(int64_t v);
std::string si(double v, int digits = 3);

// A plain text table with right-aligned numeric columns.
class Table {
 public:
  explicit Table(std::vector<std::string> header) : header_(std::move(header)) {}
  void add(std::vector<std::string> row) { rows_.push_back(std::move(row)); }
  std::string str() const;

 private:
  std::vector<std::string> header_;
  std::vector<std::vector<std::string>> rows_;
};

void print_json(const nlohmann::json& j);

}  // namespace frugal::cli
