#include "frugal/pipeline/devices.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <functional>
#include <set>
#include <sstream>

#include "frugal/accel/energy.h"
#include "frugal/core/error.h"
#include "frugal/core/yaml_errors.h"
#include "frugal/measure/affinity.h"

namespace frugal::pipeline {

const char* device_kind_name(DeviceKind k) {
  switch (k) {
    case DeviceKind::kCpu:
      return "cpu";
    case DeviceKind::kCuda:
      return "cuda";
    case DeviceKind::kModel:
      return "model";
    case DeviceKind::kRemote:
      return "remote";
    case DeviceKind::kAccel:
      return "accel";
  }
  return "?";
}

double bytes_per_param(const std::string& precision) {
  if (precision == "int8" || precision == "u8" || precision == "s8") return 1;
  if (precision == "int4") return 0.5;
  if (precision == "fp16" || precision == "bf16") return 2;
  if (precision == "fp32") return 4;
  throw UserError("--precision: unknown precision '" + precision +
                  "' (expected fp32, bf16, fp16, int8 or int4)");
}

namespace {

// Reads one devices document, failing with "ORIGIN:LINE:COL: reason".
struct Reader {
  std::string origin;

  [[noreturn]] void fail(const YAML::Node& at, const std::string& msg) const {
    yaml_fail(origin, at, msg);
  }
  std::string line_of(const YAML::Node& at) const {
    return origin + ":" + std::to_string(at.Mark().line + 1);
  }
  std::string text(const YAML::Node& n, const std::string& what) const {
    if (!n.IsScalar()) fail(n, what + ": expected a string");
    return n.Scalar();
  }
  // A non-negative number: plain (2e12) or with a decimal (k, M, G) or binary (Ki, Mi, Gi)
  // suffix.
  double number(const YAML::Node& n, const std::string& what) const {
    if (!n.IsScalar()) fail(n, what + ": expected a number");
    std::string s = n.Scalar();
    double scale = 1;
    const std::vector<std::pair<std::string, double>> suffixes = {
        {"Ki", 1024.0}, {"Mi", 1048576.0}, {"Gi", 1073741824.0}, {"k", 1e3},
        {"M", 1e6},     {"G", 1e9},        {"T", 1e12}};
    for (const auto& [suf, f] : suffixes)
      if (s.size() > suf.size() && s.compare(s.size() - suf.size(), suf.size(), suf) == 0) {
        s = s.substr(0, s.size() - suf.size());
        scale = f;
        break;
      }
    size_t used = 0;
    double v = 0;
    try {
      v = std::stod(s, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used == 0 || used != s.size() || !std::isfinite(v) || v < 0)
      fail(n, what + ": expected a non-negative number, got '" + n.Scalar() + "'");
    return v * scale;
  }
  int64_t integer(const YAML::Node& n, const std::string& what) const {
    const double v = number(n, what);
    if (v != std::floor(v) || v > 9e18)
      fail(n, what + ": expected a whole number, got '" + n.Scalar() + "'");
    return static_cast<int64_t>(v);
  }
  void check_keys(const YAML::Node& map, const std::set<std::string>& allowed,
                  const std::string& kind) const {
    for (const auto& kv : map) {
      const std::string k = text(kv.first, "key");
      if (!allowed.count(k)) {
        std::string list;
        for (const auto& a : allowed) list += (list.empty() ? "" : ", ") + a;
        fail(kv.first,
             "unknown key '" + k + "' for a " + kind + " device (expected: " + list + ")");
      }
    }
  }

  void cpu(const YAML::Node& e, Device& d) const {
    check_keys(e, {"name", "kind", "count", "memory_bytes", "cores", "threads"}, "cpu");
    if (e["cores"]) {
      if (e["cores"].IsSequence()) {
        for (const auto& c : e["cores"])
          d.cpu.cores.push_back(static_cast<int>(integer(c, "cores")));
      } else {
        try {
          d.cpu.cores = measure::parse_cpu_list(text(e["cores"], "cores"), "cores");
        } catch (const UserError& err) {
          fail(e["cores"], err.what());
        }
      }
    }
    d.cpu.threads = d.cpu.cores.empty() ? 1 : static_cast<int>(d.cpu.cores.size());
    if (e["threads"]) {
      d.cpu.threads = static_cast<int>(integer(e["threads"], "threads"));
      if (d.cpu.threads < 1) fail(e["threads"], "threads: must be at least 1");
    }
  }

  void model(const YAML::Node& e, Device& d) const {
    check_keys(e,
               {"name", "kind", "count", "memory_bytes", "peak_macs_per_s", "param_memory_bytes",
                "stream_bytes_per_s", "link_bytes_per_s", "link_latency_s", "layer_overhead_s",
                "load_s", "idle_w", "active_w", "ops"},
               "model");
    const YAML::Node peak = e["peak_macs_per_s"];
    if (!peak || !peak.IsMap() || peak.size() == 0)
      fail(peak ? peak : e,
           "peak_macs_per_s: expected a mapping precision -> MAC/s, e.g. {int8: 2e12}");
    for (const auto& kv : peak) {
      const std::string p = text(kv.first, "precision");
      try {
        bytes_per_param(p);
      } catch (const UserError&) {
        fail(kv.first,
             "peak_macs_per_s: unknown precision '" + p + "' (fp32, bf16, fp16, int8, int4)");
      }
      d.model.peak_macs_per_s[p] = number(kv.second, "peak_macs_per_s." + p);
      if (d.model.peak_macs_per_s[p] <= 0)
        fail(kv.second, "peak_macs_per_s." + p + ": must be positive");
    }
    auto opt = [&](const char* key, double& v) {
      if (e[key]) v = number(e[key], key);
    };
    if (e["param_memory_bytes"])
      d.model.param_memory_bytes = integer(e["param_memory_bytes"], "param_memory_bytes");
    opt("stream_bytes_per_s", d.model.stream_bytes_per_s);
    opt("link_bytes_per_s", d.model.link_bytes_per_s);
    opt("link_latency_s", d.model.link_latency_s);
    opt("layer_overhead_s", d.model.layer_overhead_s);
    opt("load_s", d.model.load_s);
    opt("idle_w", d.model.idle_w);
    opt("active_w", d.model.active_w);
    if (d.model.link_bytes_per_s <= 0)
      fail(e, "model device '" + d.name + "': link_bytes_per_s is required (> 0)");
    if (d.model.stream_bytes_per_s <= 0) d.model.stream_bytes_per_s = d.model.link_bytes_per_s;
    if (e["ops"]) {
      if (!e["ops"].IsSequence()) fail(e["ops"], "ops: expected a list of op types");
      for (const auto& o : e["ops"]) d.model.ops.push_back(text(o, "ops"));
    }
  }

  void remote(const YAML::Node& e, Device& d) const {
    check_keys(
        e,
        {"name", "kind", "count", "memory_bytes", "up_bytes_per_s", "down_bytes_per_s", "rtt_s",
         "sent_j_per_byte", "received_j_per_byte", "server_macs_per_s", "layer_overhead_s"},
        "remote");
    auto req = [&](const char* key, double& v) {
      if (!e[key]) fail(e, "remote device '" + d.name + "': " + key + " is required");
      v = number(e[key], key);
      if (v <= 0) fail(e[key], std::string(key) + ": must be positive");
    };
    req("up_bytes_per_s", d.remote.up_bytes_per_s);
    req("down_bytes_per_s", d.remote.down_bytes_per_s);
    req("server_macs_per_s", d.remote.server_macs_per_s);
    if (e["rtt_s"]) d.remote.rtt_s = number(e["rtt_s"], "rtt_s");
    if (e["sent_j_per_byte"])
      d.remote.sent_j_per_byte = number(e["sent_j_per_byte"], "sent_j_per_byte");
    if (e["received_j_per_byte"])
      d.remote.received_j_per_byte = number(e["received_j_per_byte"], "received_j_per_byte");
    if (e["layer_overhead_s"])
      d.remote.layer_overhead_s = number(e["layer_overhead_s"], "layer_overhead_s");
  }

  void accel(const YAML::Node& e, Device& d) const {
    check_keys(e,
               {"name", "kind", "count", "memory_bytes", "arch", "format", "dataflow", "cost",
                "link_bytes_per_s", "link_latency_s"},
               "accel");
    if (!e["arch"])
      fail(e, "accel device '" + d.name + "': arch is required (a preset or an architecture file)");
    // accel's errors name a command-line option ("--arch: why"): here they name the key.
    auto here = [&](const char* key, auto parse) {
      try {
        parse();
      } catch (const UserError& err) {
        std::string why = err.what();
        if (why.rfind("--", 0) == 0 && why.find(": ") != std::string::npos)
          why = std::string(key) + why.substr(why.find(": "));
        fail(e[key], why);
      }
    };
    const std::string arch = text(e["arch"], "arch");
    here("arch", [&] { d.accel.arch = accel::load_architecture(arch); });
    if (e["cost"]) {
      const std::string cost = text(e["cost"], "cost");
      here("cost", [&] { d.accel.cost = numeric::parse_cost_source(cost); });
    }
    if (e["format"]) {
      const std::string format = text(e["format"], "format");
      here("format", [&] { d.accel.formats = numeric::parse_format_spec(format); });
    }
    here(e["format"] ? "format" : "arch",
         [&] { accel::price(d.accel.arch, d.accel.formats, d.accel.cost); });
    if (e["dataflow"]) {
      const std::string flow = text(e["dataflow"], "dataflow");
      here("dataflow", [&] {
        if (flow == "best")
          d.accel.best_dataflow = true;
        else
          d.accel.dataflow = accel::parse_dataflow(flow, "dataflow");
      });
    }
    if (!e["link_bytes_per_s"])
      fail(e, "accel device '" + d.name + "': link_bytes_per_s is required (> 0)");
    d.accel.link_bytes_per_s = number(e["link_bytes_per_s"], "link_bytes_per_s");
    if (d.accel.link_bytes_per_s <= 0)
      fail(e["link_bytes_per_s"], "link_bytes_per_s: must be positive");
    if (e["link_latency_s"]) d.accel.link_latency_s = number(e["link_latency_s"], "link_latency_s");
  }

  std::vector<Device> entry(const YAML::Node& e) const {
    if (!e.IsMap()) fail(e, "a device entry must be a mapping with name and kind");
    if (!e["name"]) fail(e, "device entry without a name");
    if (!e["kind"])
      fail(e, "device '" + e["name"].Scalar() + "' has no kind (cpu, cuda, model, remote, accel)");
    Device d;
    d.name = text(e["name"], "name");
    d.origin = line_of(e);
    const std::string kind = text(e["kind"], "kind");
    if (e["memory_bytes"]) d.memory_bytes = integer(e["memory_bytes"], "memory_bytes");
    if (kind == "cpu") {
      d.kind = DeviceKind::kCpu;
      cpu(e, d);
    } else if (kind == "cuda") {
      d.kind = DeviceKind::kCuda;
      check_keys(e, {"name", "kind", "count", "memory_bytes", "index"}, "cuda");
      if (e["index"]) d.cuda.index = static_cast<int>(integer(e["index"], "index"));
    } else if (kind == "model") {
      d.kind = DeviceKind::kModel;
      model(e, d);
    } else if (kind == "remote") {
      d.kind = DeviceKind::kRemote;
      remote(e, d);
    } else if (kind == "accel") {
      d.kind = DeviceKind::kAccel;
      accel(e, d);
    } else {
      fail(e["kind"],
           "unknown device kind '" + kind + "' (expected cpu, cuda, model, remote or accel)");
    }
    const int64_t count = e["count"] ? integer(e["count"], "count") : 1;
    if (count < 1 || count > 1024) fail(e["count"], "count: must be 1 to 1024");
    if (count == 1) return {d};
    std::vector<Device> out;
    for (int64_t i = 0; i < count; ++i) {
      out.push_back(d);
      out.back().name = d.name + std::to_string(i);
    }
    return out;
  }

  DeviceSet document(const YAML::Node& root) const {
    if (!root.IsMap() || !root["devices"]) fail(root, "expected a mapping with a 'devices' list");
    for (const auto& kv : root)
      if (text(kv.first, "key") != "devices")
        fail(kv.first, "unknown top-level key '" + kv.first.Scalar() + "' (expected: devices)");
    const YAML::Node list = root["devices"];
    if (!list.IsSequence() || list.size() == 0) fail(list, "devices: expected a non-empty list");
    DeviceSet set;
    set.source = origin;
    std::map<std::string, std::string> seen;
    for (const auto& e : list)
      for (auto& d : entry(e)) {
        if (seen.count(d.name))
          fail(e, "device name '" + d.name + "' is used twice (first at " + seen[d.name] + ")");
        seen[d.name] = d.origin;
        set.devices.push_back(std::move(d));
      }
    return set;
  }
};

// Preset files. Figures of modeled devices are estimates; docs/pipeline.md says where each
// constant comes from (data sheets) or how it was calibrated (Coral's published latencies).

// One Edge TPU: 4 TOPS int8 = 2e12 MAC/s peak and ~8 MB of on-chip parameter cache (Coral's
// data sheet); parameters beyond the cache stream from the host over the link on every
// inference. The link rate, its latency and the per-layer overhead are calibrated on Coral's
// published latencies (docs/pipeline.md). `count` replicates it (tpu0, tpu1, ...).
std::string edgetpu_yaml(const std::string& comment, const std::string& name, int count,
                         const std::string& link, const std::string& latency) {
  std::string y = comment + "devices:\n  - name: " + name + "\n    kind: model\n";
  if (count > 1) y += "    count: " + std::to_string(count) + "\n";
  y += "    peak_macs_per_s: {int8: 2e12}\n    param_memory_bytes: 8Mi\n";
  y += "    stream_bytes_per_s: " + link + "\n    link_bytes_per_s: " + link + "\n";
  y += "    link_latency_s: " + latency + "\n    layer_overhead_s: 0.000033\n";
  y += "    load_s: 0.012\n    idle_w: 0.5\n    active_w: 2.0\n";
  y += "    ops: [Conv, Gemm, MatMul, Relu, Clip, Add, Mul, Concat, MaxPool, AveragePool,\n"
       "          GlobalAveragePool, Reshape, Flatten, Softmax, BatchNormalization, Pad, Sigmoid,\n"
       "          HardSwish, HardSigmoid, Transpose, Split, Slice, Squeeze, Unsqueeze, Identity,\n"
       "          Dropout, LRN, Resize, Sub, Div, Mean, ReduceMean, Tanh, LeakyRelu, PRelu]\n";
  return y;
}

const char* kPhoneCloud =
    R"yaml(# Neurosurgeon's setting (Kang et al., ASPLOS 2017): a phone that may offload the rest of
# the network to a server over its radio. Modeled: every figure is an estimate.
# The phone: a mobile SoC's CPU (~20 GMAC/s fp32 sustained); the radio: LTE-like uplink
# 5 Mbit/s, downlink 20 Mbit/s, 60 ms RTT, ~2.5 uJ per byte sent, ~0.8 uJ per byte received.
devices:
  - name: phone
    kind: model
    peak_macs_per_s: {fp32: 20G, int8: 60G}
    param_memory_bytes: 4Gi
    link_bytes_per_s: 10G
    layer_overhead_s: 0.00002
    idle_w: 0.3
    active_w: 3.0
  - name: cloud
    kind: remote
    up_bytes_per_s: 625k
    down_bytes_per_s: 2.5M
    rtt_s: 0.06
    sent_j_per_byte: 2.5e-6
    received_j_per_byte: 0.8e-6
    server_macs_per_s: 2T
    layer_overhead_s: 0.00001
)yaml";

std::string host_cores_yaml() {
  std::ostringstream y;
  y << "# Each CPU this process may run on, as its own device (one thread, pinned).\ndevices:\n";
  for (int c : measure::current_affinity())
    y << "  - name: core" << c << "\n    kind: cpu\n    cores: [" << c << "]\n    threads: 1\n";
  return y.str();
}

}  // namespace

std::vector<std::string> preset_names() {
  return {"host-cores", "edgetpu-usb", "edgetpu-pcie", "edgetpu-x8", "phone+cloud"};
}

std::string preset_yaml(const std::string& name) {
  if (name == "host-cores") return host_cores_yaml();
  if (name == "edgetpu-usb")
    return edgetpu_yaml(
        "# One Coral USB Accelerator (Edge TPU over USB 3.0). Modeled: estimates.\n", "edgetpu", 1,
        "385M", "0.0003");
  if (name == "edgetpu-pcie")
    return edgetpu_yaml(
        "# One Coral M.2 / mini-PCIe Edge TPU (PCIe Gen2 x1). Modeled: estimates.\n", "edgetpu", 1,
        "450M", "0.0001");
  if (name == "edgetpu-x8")
    return edgetpu_yaml(
        "# Eight Edge TPUs on one PCIe board, each on its own PCIe Gen2 x1 lane\n"
        "# behind a switch; stage k runs on tpu{k}. Modeled: estimates.\n",
        "tpu", 8, "450M", "0.0001");
  if (name == "phone+cloud") return kPhoneCloud;
  std::string list;
  for (const auto& n : preset_names()) list += (list.empty() ? "" : ", ") + n;
  throw UserError("--devices: unknown preset '" + name + "' (presets: " + list +
                  "; or give a .yaml file)");
}

DeviceSet parse_devices(const std::string& yaml, const std::string& origin) {
  return Reader{origin}.document(yaml_load(yaml, origin));
}

DeviceSet load_devices(const std::string& preset_or_file) {
  const bool file_like = preset_or_file.find('/') != std::string::npos ||
                         preset_or_file.find(".yaml") != std::string::npos ||
                         preset_or_file.find(".yml") != std::string::npos;
  if (!file_like) {
    DeviceSet s = parse_devices(preset_yaml(preset_or_file), "preset " + preset_or_file);
    s.source = preset_or_file;
    return s;
  }
  std::ifstream f(preset_or_file);
  if (!f) throw UserError(preset_or_file + ": cannot read devices file");
  std::stringstream ss;
  ss << f.rdbuf();
  return parse_devices(ss.str(), preset_or_file);
}

}  // namespace frugal::pipeline
