#include "frugal/pipeline/segments.h"

#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <set>

#include "frugal/core/error.h"
#include "frugal/ir/onnx_io.h"
#include "frugal/ir/subgraph.h"
#include "frugal/pipeline/runner.h"

namespace frugal::pipeline {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

bool contains(const std::vector<std::string>& v, const std::string& x) {
  return std::find(v.begin(), v.end(), x) != v.end();
}

json segment_json(const Partition& p, size_t k, bool files) {
  const Segment& s = p.segments[k];
  json j = {{"index", k},
            {"device", s.device},
            {"kind", device_kind_name(s.kind)},
            {"estimate", s.estimate},
            {"nodes", {s.stats.first, s.stats.last}},
            {"first_node", s.first_node},
            {"last_node", s.last_node},
            {"params", s.stats.params},
            {"param_bytes", s.stats.param_bytes},
            {"macs", s.stats.macs},
            {"layers", s.stats.layers},
            {"bytes_in", s.stats.bytes_in},
            {"bytes_out", s.stats.bytes_out},
            {"memory_bytes", s.stats.memory_bytes()},
            {"time_s", s.cost.time_s},
            {"energy_j", s.cost.energy_j},
            {"inputs", json::array()},
            {"outputs", json::array()}};
  if (files) j["file"] = "segment_" + std::to_string(k) + ".onnx";
  for (const auto& in : s.stats.inputs) {
    int64_t from = -1;
    for (size_t e = 0; e < k; ++e)
      if (contains(p.segments[e].stats.outputs, in)) from = static_cast<int64_t>(e);
    j["inputs"].push_back({{"name", in}, {"from", from}});
  }
  for (const auto& out : s.stats.outputs) {
    json to = json::array();
    for (size_t l = k + 1; l < p.segments.size(); ++l)
      if (contains(p.segments[l].stats.inputs, out)) to.push_back(l);
    bool model_output = false;
    for (const auto& o : p.graph.outputs) model_output = model_output || o.name == out;
    j["outputs"].push_back({{"name", out}, {"to", to}, {"model_output", model_output}});
  }
  return j;
}

}  // namespace

json partition_json(const Partition& p, bool files) {
  json j = {{"format", "frugal-segments"},
            {"version", 1},
            {"model", p.graph.name},
            {"method", method_name(p.method)},
            {"objective", objective_name(p.objective)},
            {"precision", p.precision},
            {"devices", p.devices_source},
            {"inputs", json::array()},
            {"outputs", json::array()},
            {"segments", json::array()},
            {"predicted",
             {{"slowest_stage_s", p.slowest_s},
              {"latency_s", p.latency_s},
              {"throughput_per_s", p.throughput_per_s},
              {"energy_j", p.energy_j},
              {"estimate", p.estimate}}}};
  for (const auto& in : p.graph.inputs) j["inputs"].push_back(in.name);
  for (const auto& out : p.graph.outputs) j["outputs"].push_back(out.name);
  for (size_t k = 0; k < p.segments.size(); ++k) j["segments"].push_back(segment_json(p, k, files));
  return j;
}

namespace {

void write_text(const fs::path& path, const std::string& text) {
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  f << text;
  f.close();
  if (!f) throw UserError(path.string() + ": cannot write");
}

// Fills `tmp` with the segment files and the manifest.
void fill(const Partition& p, const fs::path& tmp) {
  for (size_t k = 0; k < p.segments.size(); ++k) {
    const Segment& s = p.segments[k];
    ir::Graph g = ir::extract(p.graph, s.stats.inputs, s.stats.outputs);
    g.name = p.graph.name + ".segment_" + std::to_string(k);
    g.metadata["frugal.segment"] = std::to_string(k) + "/" + std::to_string(p.segments.size());
    ir::save_onnx(g, (tmp / ("segment_" + std::to_string(k) + ".onnx")).string());
  }
  write_text(tmp / "manifest.json", partition_json(p, true).dump(2) + "\n");
}

}  // namespace

void write_segments(const Partition& p, const std::string& dir) {
  const fs::path target = fs::path(dir).lexically_normal();
  std::error_code ec;
  if (fs::exists(target, ec) && !fs::exists(target / "manifest.json", ec))
    throw UserError(dir + ": exists and is not a segments folder (no manifest.json): not replaced");
  const fs::path parent = target.has_parent_path() ? target.parent_path() : fs::path(".");
  if (!fs::is_directory(parent, ec))
    throw UserError(dir + ": cannot write (no folder " + parent.string() + ")");
  const std::string tag = ".tmp-" + std::to_string(::getpid());
  const fs::path tmp = target.string() + tag, old = target.string() + ".old" + tag;
  fs::remove_all(tmp, ec);
  if (!fs::create_directory(tmp, ec))
    throw UserError(dir + ": cannot write (" + ec.message() + ")");
  try {
    fill(p, tmp);
    if (fs::exists(target)) fs::rename(target, old);
    fs::rename(tmp, target);
  } catch (const fs::filesystem_error& e) {
    fs::remove_all(tmp, ec);
    throw UserError(dir + ": cannot write (" + e.code().message() + ")");
  } catch (...) {
    fs::remove_all(tmp, ec);
    throw;
  }
  fs::remove_all(old, ec);
}

namespace {

std::vector<std::string> names_of(const json& list, const std::string& where) {
  std::vector<std::string> out;
  if (!list.is_array()) throw UserError(where + ": expected a list");
  for (const auto& e : list) {
    if (e.is_string())
      out.push_back(e.get<std::string>());
    else if (e.is_object() && e.contains("name") && e["name"].is_string())
      out.push_back(e["name"].get<std::string>());
    else
      throw UserError(where + ": expected value names");
  }
  return out;
}

// The segment file declares exactly the inputs and outputs the manifest lists.
void check_file(const ManifestSegment& s, const std::string& where) {
  const ir::Graph g = ir::load_onnx(s.file);
  std::set<std::string> in, out;
  for (const auto& v : g.inputs) in.insert(v.name);
  for (const auto& v : g.outputs) out.insert(v.name);
  if (in != std::set<std::string>(s.inputs.begin(), s.inputs.end()))
    throw UserError(where + ": " + s.file + " has other inputs than the manifest lists");
  if (out != std::set<std::string>(s.outputs.begin(), s.outputs.end()))
    throw UserError(where + ": " + s.file + " has other outputs than the manifest lists");
}

}  // namespace

Manifest read_manifest(const std::string& dir) {
  const fs::path path = fs::path(dir) / "manifest.json";
  const std::string where = path.string();
  std::ifstream f(path);
  if (!f)
    throw UserError(where + ": cannot read (is " + dir + " a folder written by frugal partition?)");
  Manifest m;
  m.dir = dir;
  try {
    m.json = json::parse(f);
  } catch (const json::exception& e) {
    throw UserError(where + ": not valid JSON (" + std::string(e.what()) + ")");
  }
  if (!m.json.is_object() || m.json.value("format", "") != "frugal-segments" ||
      !m.json.contains("segments"))
    throw UserError(where + ": not a frugal segments manifest");
  m.inputs = names_of(m.json["inputs"], where + " inputs");
  m.outputs = names_of(m.json["outputs"], where + " outputs");
  std::vector<SegmentPorts> ports;
  for (size_t k = 0; k < m.json["segments"].size(); ++k) {
    const json& e = m.json["segments"][k];
    const std::string at = where + ": segment " + std::to_string(k);
    if (!e.is_object() || !e.contains("file") || !e["file"].is_string())
      throw UserError(at + ": no file");
    ManifestSegment s;
    s.file = (fs::path(dir) / e["file"].get<std::string>()).string();
    s.device = e.value("device", "");
    s.inputs = names_of(e.value("inputs", json::array()), at + " inputs");
    s.outputs = names_of(e.value("outputs", json::array()), at + " outputs");
    s.info = e;
    ports.push_back({"segment " + std::to_string(k) + " (" + e["file"].get<std::string>() + ")",
                     s.inputs, s.outputs});
    m.segments.push_back(std::move(s));
  }
  check_chain(ports, m.inputs, m.outputs, where);
  for (size_t k = 0; k < m.segments.size(); ++k)
    check_file(m.segments[k], where + ": segment " + std::to_string(k));
  return m;
}

std::vector<Tensor> run_segments(const Manifest& m, const std::vector<Tensor>& inputs,
                                 const runtime::SessionOptions& options) {
  if (inputs.size() != m.inputs.size())
    throw UserError(m.dir + ": the model takes " + std::to_string(m.inputs.size()) +
                    " inputs, got " + std::to_string(inputs.size()));
  std::map<std::string, Tensor> values;
  for (size_t i = 0; i < inputs.size(); ++i) values[m.inputs[i]] = inputs[i];
  for (const auto& s : m.segments) {
    runtime::SessionOptions so = options;
    so.origin = s.file;
    runtime::Session session(ir::load_onnx(s.file), so);
    std::vector<Tensor> in;
    for (const auto& port : session.inputs()) in.push_back(values.at(port.name));
    const std::vector<Tensor> out = session.run(in);
    for (size_t i = 0; i < out.size(); ++i) values[session.outputs()[i].name] = out[i];
  }
  std::vector<Tensor> result;
  for (const auto& name : m.outputs) result.push_back(values.at(name));
  return result;
}

}  // namespace frugal::pipeline
