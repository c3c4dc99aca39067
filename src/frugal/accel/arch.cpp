// Architecture files and presets (see arch.h, docs/accel.md).
#include "frugal/accel/arch.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <fstream>
#include <sstream>

#include "frugal/core/error.h"
#include "frugal/core/yaml_errors.h"

namespace frugal::accel {
namespace {

// Presets in the file format itself, so that `docs/accel.md` and a user's file read alike.
// Figures: Eyeriss (Chen et al., JSSC 2017: 12x14 PEs; RF 224 filter, 12 ifmap, 24 psum
// 16-bit words; 108 KB GLB; 200 MHz), TPU v1 (Jouppi et al., ISCA 2017: 256x256 MACs,
// 24 MiB unified buffer, 700 MHz, 34 GB/s), EIE (Han et al., ISCA 2016: 64 PEs with 128 KB
// of sparse-weight SRAM each, 4-bit relative indices, 800 MHz). The edge NPU is a plain
// assumption (a 16x16 array with a 256 KB buffer). DRAM bandwidths not given by the papers
// are assumptions and are marked so in docs/accel.md.
const char* const kEyeriss = R"(name: eyeriss
pe_array: {rows: 12, cols: 14}
register_file: {weights: 448, inputs: 24, psums: 48}
global_buffer: {bytes: 110592, banks: 27, bank_bits: 64}
noc: {multicast: true, forwarding: true}
dram: {gbps: 4}
clock_mhz: 200
dataflow: rs
sparsity: {mode: gate, storage: dense}
)";
const char* const kTpu = R"(name: tpu
pe_array: {rows: 256, cols: 256}
register_file: {weights: 4, inputs: 0, psums: 0}
global_buffer: {bytes: 25165824, banks: 32, bank_bits: 256}
noc: {multicast: true, forwarding: true}
dram: {gbps: 34}
clock_mhz: 700
dataflow: ws
sparsity: {mode: none, storage: dense}
)";
const char* const kEdge = R"(name: edge
pe_array: {rows: 16, cols: 16}
register_file: {weights: 64, inputs: 32, psums: 64}
global_buffer: {bytes: 262144, banks: 16, bank_bits: 64}
noc: {multicast: true, forwarding: true}
dram: {gbps: 4}
clock_mhz: 500
dataflow: os
sparsity: {mode: gate, storage: dense}
)";
const char* const kEie = R"(name: eie
pe_array: {rows: 1, cols: 64}
register_file: {weights: 131072, inputs: 0, psums: 64}
global_buffer: {bytes: 65536, banks: 8, bank_bits: 64, holds: [inputs, psums]}
noc: {multicast: true, forwarding: false}
dram: {gbps: 8}
clock_mhz: 800
dataflow: ws
sparsity: {mode: skip, storage: csr, index_bits: 4}
)";

struct PresetText {
  const char* name;
  const char* text;
  const char* description;
};
const PresetText kPresets[] = {
    {"eyeriss", kEyeriss, "Eyeriss-like 12x14 row-stationary array, 108 KB buffer, zero gating"},
    {"tpu", kTpu, "TPU-like 256x256 weight-stationary systolic array, 24 MiB buffer"},
    {"edge", kEdge, "small edge NPU: 16x16 output-stationary array, 256 KB buffer"},
    {"eie", kEie, "EIE-like sparse engine: 64 PEs, weights in local SRAM as 4-bit-index CSR"},
};

struct Reader {
  std::string origin;

  [[noreturn]] void fail(const YAML::Node& at, const std::string& msg) const {
    yaml_fail(origin, at, msg);
  }
  std::string text(const YAML::Node& n, const std::string& what) const {
    if (!n.IsScalar()) fail(n, what + ": expected a value");
    return n.Scalar();
  }
  double number(const YAML::Node& n, const std::string& what, double min) const {
    double v = 0;
    try {
      v = n.as<double>();
    } catch (const YAML::Exception&) {
      fail(n, what + ": expected a number, got '" + (n.IsScalar() ? n.Scalar() : "?") + "'");
    }
    if (!(v >= min) || v > 1e15)
      fail(n, what + ": must be at least " + std::to_string(static_cast<int64_t>(min)) + ", got " +
                  n.Scalar());
    return v;
  }
  int integer(const YAML::Node& n, const std::string& what, int min) const {
    const double v = number(n, what, min);
    if (v != static_cast<int>(v)) fail(n, what + ": expected an integer, got " + n.Scalar());
    return static_cast<int>(v);
  }
  bool boolean(const YAML::Node& n, const std::string& what) const {
    try {
      return n.as<bool>();
    } catch (const YAML::Exception&) {
      fail(n, what + ": expected true or false");
    }
  }
  // Calls `f(key, value)` for every entry, refusing keys outside `allowed`.
  template <typename F>
  void each(const YAML::Node& map, const std::string& what, const std::vector<std::string>& allowed,
            F f) const {
    if (!map.IsMap()) fail(map, what + ": expected a mapping");
    for (const auto& kv : map) {
      const std::string k = text(kv.first, what + " key");
      if (std::find(allowed.begin(), allowed.end(), k) == allowed.end()) {
        std::string list;
        for (const auto& a : allowed) list += (list.empty() ? "" : ", ") + a;
        fail(kv.first, "unknown key '" + k + "' in " + what + " (expected one of: " + list + ")");
      }
      f(k, kv.second);
    }
  }

  int operand(const YAML::Node& n, const std::string& what) const {
    const std::string s = text(n, what);
    for (int o = 0; o < kOperands; ++o)
      if (s == operand_name(o)) return o;
    fail(n, what + ": '" + s + "' is not weights, inputs or psums");
  }

  void pe_array(const YAML::Node& n, Architecture& a) const {
    each(n, "pe_array", {"rows", "cols"}, [&](const std::string& k, const YAML::Node& v) {
      (k == "rows" ? a.pe_rows : a.pe_cols) = integer(v, "pe_array." + k, 1);
    });
  }
  void register_file(const YAML::Node& n, Architecture& a) const {
    each(n, "register_file", {"weights", "inputs", "psums"},
         [&](const std::string& k, const YAML::Node& v) {
           const int o = k == "weights" ? kWeights : k == "inputs" ? kInputs : kPsums;
           a.rf_bytes[o] = number(v, "register_file." + k, 0);
         });
  }
  void global_buffer(const YAML::Node& n, Architecture& a) const {
    each(n, "global_buffer", {"bytes", "banks", "bank_bits", "holds"},
         [&](const std::string& k, const YAML::Node& v) {
           if (k == "bytes") a.glb_bytes = number(v, "global_buffer.bytes", 1);
           if (k == "banks") a.glb_banks = integer(v, "global_buffer.banks", 1);
           if (k == "bank_bits") a.glb_bank_bits = integer(v, "global_buffer.bank_bits", 1);
           if (k == "holds") {
             if (!v.IsSequence()) fail(v, "global_buffer.holds: expected a list of operands");
             a.glb_holds = {false, false, false};
             for (const auto& x : v) a.glb_holds[operand(x, "global_buffer.holds")] = true;
           }
         });
  }
  void noc(const YAML::Node& n, Architecture& a) const {
    each(n, "noc", {"multicast", "forwarding"}, [&](const std::string& k, const YAML::Node& v) {
      (k == "multicast" ? a.noc_multicast : a.noc_forwarding) = boolean(v, "noc." + k);
    });
  }
  void sparsity(const YAML::Node& n, Architecture& a) const {
    each(n, "sparsity", {"mode", "storage", "index_bits"},
         [&](const std::string& k, const YAML::Node& v) {
           const std::string s = k == "index_bits" ? "" : text(v, "sparsity." + k);
           if (k == "mode") {
             if (s == "none")
               a.sparse = SparseMode::kNone;
             else if (s == "gate")
               a.sparse = SparseMode::kGate;
             else if (s == "skip")
               a.sparse = SparseMode::kSkip;
             else
               fail(v, "sparsity.mode: '" + s + "' is not none, gate or skip");
           } else if (k == "storage") {
             if (s == "dense")
               a.storage = SparseStorage::kDense;
             else if (s == "csr")
               a.storage = SparseStorage::kCsr;
             else if (s == "bitmap")
               a.storage = SparseStorage::kBitmap;
             else
               fail(v, "sparsity.storage: '" + s + "' is not dense, csr or bitmap");
           } else {
             a.index_bits = integer(v, "sparsity.index_bits", 1);
             if (a.index_bits > 32) fail(v, "sparsity.index_bits: at most 32");
           }
         });
  }
  void energy(const YAML::Node& n, Architecture& a) const {
    each(n, "energy", {"rf", "noc", "glb", "dram", "scale_by_capacity"},
         [&](const std::string& k, const YAML::Node& v) {
           if (k == "scale_by_capacity") a.energy.scale_by_capacity = boolean(v, "energy." + k);
           if (k == "rf") a.energy.rf = number(v, "energy.rf", 0);
           if (k == "noc") a.energy.noc = number(v, "energy.noc", 0);
           if (k == "glb") a.energy.glb = number(v, "energy.glb", 0);
           if (k == "dram") a.energy.dram = number(v, "energy.dram", 0);
         });
  }

  Architecture parse(const std::string& yaml_text) const {
    const YAML::Node root = yaml_load(yaml_text, origin);
    if (!root.IsMap())
      throw UserError(origin + ": an architecture file is a mapping (pe_array:, ...)");
    Architecture a;
    a.origin = origin;
    each(root, "the architecture",
         {"name", "pe_array", "register_file", "global_buffer", "noc", "dram", "clock_mhz",
          "dataflow", "sparsity", "energy"},
         [&](const std::string& k, const YAML::Node& v) {
           if (k == "name") a.name = text(v, "name");
           if (k == "pe_array") pe_array(v, a);
           if (k == "register_file") register_file(v, a);
           if (k == "global_buffer") global_buffer(v, a);
           if (k == "noc") noc(v, a);
           if (k == "dram")
             each(v, "dram", {"gbps"}, [&](const std::string&, const YAML::Node& g) {
               a.dram_gbps = number(g, "dram.gbps", 0.001);
             });
           if (k == "clock_mhz") a.clock_mhz = number(v, "clock_mhz", 1);
           if (k == "dataflow") {
             try {
               a.dataflow = parse_dataflow(text(v, "dataflow"), "dataflow");
             } catch (const UserError& e) {
               fail(v, e.what());
             }
           }
           if (k == "sparsity") sparsity(v, a);
           if (k == "energy") energy(v, a);
         });
    if (a.name.empty()) a.name = origin;
    return a;
  }
};

}  // namespace

Dataflow parse_dataflow(std::string_view name, const std::string& option) {
  for (Dataflow d : kDataflows)
    if (name == to_string(d)) return d;
  throw UserError(option + ": unknown dataflow '" + std::string(name) +
                  "' (expected ws, os, rs or nlr)");
}

std::string to_string(Dataflow d) {
  switch (d) {
    case Dataflow::kWeightStationary:
      return "ws";
    case Dataflow::kOutputStationary:
      return "os";
    case Dataflow::kRowStationary:
      return "rs";
    case Dataflow::kNoLocalReuse:
      return "nlr";
  }
  return "?";
}

std::string operand_name(int operand) {
  static const char* const names[] = {"weights", "inputs", "psums"};
  return names[operand];
}

bool keeps_in_rf(Dataflow d, int operand) {
  switch (d) {
    case Dataflow::kWeightStationary:
      return operand == kWeights;
    case Dataflow::kOutputStationary:
      return operand == kPsums;
    case Dataflow::kRowStationary:
      return true;
    case Dataflow::kNoLocalReuse:
      return false;
  }
  return false;
}

const std::vector<ArchPreset>& arch_presets() {
  static const std::vector<ArchPreset> list = [] {
    std::vector<ArchPreset> v;
    for (const auto& p : kPresets) v.push_back({p.name, p.description});
    return v;
  }();
  return list;
}

Architecture parse_architecture(const std::string& yaml_text, const std::string& origin) {
  return Reader{origin}.parse(yaml_text);
}

Architecture load_architecture(const std::string& preset_or_path) {
  for (const auto& p : kPresets)
    if (preset_or_path == p.name) return parse_architecture(p.text, p.name);
  std::ifstream in(preset_or_path);
  if (!in) {
    std::string names;
    for (const auto& p : kPresets) names += std::string(names.empty() ? "" : ", ") + p.name;
    throw UserError("--arch: '" + preset_or_path + "' is neither a preset (" + names +
                    ") nor a readable file");
  }
  std::ostringstream text;
  text << in.rdbuf();
  return parse_architecture(text.str(), preset_or_path);
}

Architecture with_equal_storage(const Architecture& arch, Dataflow dataflow) {
  Architecture a = arch;
  const double total = arch.rf_total_bytes();
  double kept = 0;
  int kept_count = 0;
  for (int o = 0; o < kOperands; ++o)
    if (keeps_in_rf(dataflow, o)) kept += arch.rf_bytes[o], ++kept_count;
  for (int o = 0; o < kOperands; ++o) {
    if (!keeps_in_rf(dataflow, o))
      a.rf_bytes[o] = 0;
    else
      a.rf_bytes[o] = kept > 0 ? total * arch.rf_bytes[o] / kept : total / kept_count;
  }
  if (kept_count == 0) a.glb_bytes += total * arch.pes();
  return a;
}

}  // namespace frugal::accel
