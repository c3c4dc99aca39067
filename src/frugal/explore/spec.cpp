#include "frugal/explore/spec.h"

#include <yaml-cpp/yaml.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <set>
#include <sstream>

#include "frugal/core/error.h"
#include "frugal/core/yaml_errors.h"
#include "frugal/measure/sha256.h"
#include "frugal/train/optimizer.h"
#include "frugal/train/precision.h"

namespace frugal::explore {
namespace {

namespace fs = std::filesystem;

// Lists of the non-model/transform/backend axes and settings, any of them possibly unset:
// the top level sets them, an entry of models/transforms/backends overrides them.
struct Layer {
  std::optional<std::vector<std::string>> precisions, formats, scenarios, devices, partition;
  std::optional<std::vector<int64_t>> threads, batch, stages;
  std::optional<std::string> power, calibration;
  std::optional<double> duration_s, timeout_s;
  std::optional<int64_t> min_queries, memory_mib;
  std::optional<std::vector<std::string>> bench_args, eval_args;

  void apply(const Layer& o) {
    auto take = [](auto& mine, const auto& theirs) {
      if (theirs) mine = theirs;
    };
    take(precisions, o.precisions);
    take(formats, o.formats);
    take(scenarios, o.scenarios);
    take(threads, o.threads);
    take(batch, o.batch);
    take(stages, o.stages);
    take(devices, o.devices);
    take(partition, o.partition);
    take(power, o.power);
    take(calibration, o.calibration);
    take(duration_s, o.duration_s);
    take(timeout_s, o.timeout_s);
    take(min_queries, o.min_queries);
    take(memory_mib, o.memory_mib);
    take(bench_args, o.bench_args);
    take(eval_args, o.eval_args);
  }
  Settings settings() const {
    Settings s;
    if (power) s.power = *power;
    if (calibration) s.calibration = *calibration;
    if (duration_s) s.duration_s = *duration_s;
    if (timeout_s) s.timeout_s = *timeout_s;
    if (min_queries) s.min_queries = *min_queries;
    if (memory_mib) s.memory_mib = *memory_mib;
    if (bench_args) s.bench_args = *bench_args;
    if (eval_args) s.eval_args = *eval_args;
    return s;
  }
};

const std::vector<std::string> kLayerKeys = {
    "precisions", "formats",     "threads",    "batch",    "scenarios",   "stages",
    "devices",    "partition",   "power",      "duration", "min_queries", "timeout",
    "memory",     "calibration", "bench_args", "eval_args"};
const std::vector<std::string> kAxisKeys = {"model",  "transform", "backend",  "precision",
                                            "format", "threads",   "batch",    "scenario",
                                            "stages", "devices",   "partition"};

std::string join(const std::vector<std::string>& v, const std::string& sep = ", ") {
  std::string s;
  for (const auto& x : v) s += (s.empty() ? "" : sep) + x;
  return s;
}

struct Parser {
  std::string origin;
  std::string base_dir;

  [[noreturn]] void fail(const YAML::Node& at, const std::string& msg) const {
    yaml_fail(origin, at, msg);
  }

  std::string kind(const YAML::Node& n) const {
    if (n.IsMap()) return "a mapping";
    if (n.IsSequence()) return "a list";
    if (n.IsNull()) return "nothing";
    return "'" + n.Scalar() + "'";
  }

  std::string text(const YAML::Node& n, const std::string& what) const {
    if (!n.IsScalar()) fail(n, what + ": expected a string, got " + kind(n));
    return n.Scalar();
  }
  int64_t integer(const YAML::Node& n, const std::string& what, int64_t min) const {
    if (!n.IsScalar()) fail(n, what + ": expected an integer, got " + kind(n));
    int64_t v = 0;
    try {
      v = n.as<int64_t>();
    } catch (const YAML::Exception&) {
      fail(n, what + ": expected an integer, got " + kind(n));
    }
    if (v < min)
      fail(n, what + ": must be at least " + std::to_string(min) + ", got " + n.Scalar());
    return v;
  }
  double number(const YAML::Node& n, const std::string& what) const {
    if (!n.IsScalar()) fail(n, what + ": expected a number, got " + kind(n));
    double v = 0;
    try {
      v = n.as<double>();
    } catch (const YAML::Exception&) {
      fail(n, what + ": expected a number, got " + kind(n));
    }
    if (!(v > 0) || v > 1e7)
      fail(n, what + ": must be a positive number of seconds, got " + n.Scalar());
    return v;
  }
  // A scalar or a list of scalars; an empty list empties the grid, which is an error.
  std::vector<YAML::Node> items(const YAML::Node& n, const std::string& what) const {
    std::vector<YAML::Node> out;
    if (n.IsSequence()) {
      for (const auto& x : n) out.push_back(x);
      if (out.empty()) fail(n, what + ": empty list: the grid would be empty");
    } else if (n.IsScalar() || n.IsMap()) {
      out.push_back(n);
    } else {
      fail(n, what + ": expected a value or a list, got " + kind(n));
    }
    return out;
  }
  std::vector<std::string> texts(const YAML::Node& n, const std::string& what) const {
    std::vector<std::string> out;
    for (const auto& x : items(n, what)) out.push_back(text(x, what));
    return out;
  }
  std::vector<int64_t> integers(const YAML::Node& n, const std::string& what) const {
    std::vector<int64_t> out;
    for (const auto& x : items(n, what)) out.push_back(integer(x, what, 1));
    return out;
  }
  std::vector<std::string> args(const YAML::Node& n, const std::string& what) const {
    std::vector<std::string> out;
    if (n.IsSequence()) {
      for (const auto& x : n) out.push_back(text(x, what));
    } else {
      std::istringstream in(text(n, what));
      for (std::string w; in >> w;) out.push_back(w);
    }
    return out;
  }

  void check_keys(const YAML::Node& map, const std::string& what,
                  const std::vector<std::string>& allowed) const {
    for (const auto& kv : map) {
      std::string k = text(kv.first, what + " key");
      if (std::find(allowed.begin(), allowed.end(), k) == allowed.end())
        fail(kv.first,
             "unknown key '" + k + "' in " + what + " (expected one of: " + join(allowed) + ")");
    }
  }

  // Reads the layer keys present in `map` (other keys are the caller's).
  Layer layer(const YAML::Node& map) const {
    Layer l;
    for (const auto& kv : map) {
      std::string k = kv.first.Scalar();
      const YAML::Node& v = kv.second;
      if (k == "precisions")
        l.precisions = texts(v, k);
      else if (k == "formats") {
        l.formats = texts(v, k);
        for (auto& f : *l.formats)
          if (f == "none" || f == "-") f.clear();
      } else if (k == "scenarios")
        l.scenarios = texts(v, k);
      else if (k == "threads")
        l.threads = integers(v, k);
      else if (k == "batch")
        l.batch = integers(v, k);
      else if (k == "stages")
        l.stages = integers(v, k);
      else if (k == "devices") {
        l.devices = texts(v, k);
        for (auto& d : *l.devices) d = device_spec(d);
      } else if (k == "partition")
        l.partition = texts(v, k);
      else if (k == "power")
        l.power = text(v, k);
      else if (k == "calibration")
        l.calibration = text(v, k);
      else if (k == "duration")
        l.duration_s = number(v, k);
      else if (k == "timeout")
        l.timeout_s = number(v, k);
      else if (k == "min_queries")
        l.min_queries = integer(v, k, 1);
      else if (k == "memory")
        l.memory_mib = integer(v, k + " (MiB)", 0);
      else if (k == "bench_args")
        l.bench_args = args(v, k);
      else if (k == "eval_args")
        l.eval_args = args(v, k);
    }
    return l;
  }

  static std::vector<std::string> with(std::vector<std::string> a,
                                       const std::vector<std::string>& b) {
    a.insert(a.end(), b.begin(), b.end());
    return a;
  }

  struct Model {
    ModelEntry entry;
    Layer layer;
  };
  struct Transform {
    TransformEntry entry;
    Layer layer;
  };
  struct Backend {
    std::string name;
    Layer layer;
  };

  // A devices preset by name, or a YAML file relative to the spec; "none" is no pipeline.
  std::string device_spec(const std::string& d) const {
    if (d == "none" || d == "-") return "";
    return d.ends_with(".yaml") || d.ends_with(".yml") ? resolve(d) : d;
  }

  std::string resolve(const std::string& path) const {
    if (path.empty() || fs::path(path).is_absolute() || base_dir.empty()) return path;
    return (fs::path(base_dir) / path).lexically_normal().string();
  }

  Model model(const YAML::Node& n) const {
    Model m;
    if (n.IsScalar()) {
      std::string s = n.Scalar();
      if (s.find('/') != std::string::npos || s.ends_with(".onnx")) {
        m.entry.file = resolve(s);
        m.entry.label = fs::path(s).stem().string();
      } else {
        m.entry.zoo = m.entry.label = s;
      }
      return m;
    }
    if (!n.IsMap()) fail(n, "models: expected a zoo name, a file or a mapping, got " + kind(n));
    check_keys(n, "a models entry", with({"zoo", "file", "name", "data", "limit"}, kLayerKeys));
    if (n["zoo"] && n["file"]) fail(n, "a models entry: give zoo or file, not both");
    if (n["zoo"])
      m.entry.zoo = m.entry.label = text(n["zoo"], "zoo");
    else if (n["file"]) {
      std::string f = text(n["file"], "file");
      m.entry.file = resolve(f);
      m.entry.label = fs::path(f).stem().string();
    } else {
      fail(n, "a models entry needs zoo: NAME or file: PATH");
    }
    if (n["name"]) m.entry.label = text(n["name"], "name");
    if (n["data"]) m.entry.data = text(n["data"], "data");
    if (n["limit"]) m.entry.limit = integer(n["limit"], "limit", 1);
    m.layer = layer(n);
    return m;
  }

  Transform transform(const YAML::Node& n) const {
    Transform t;
    if (n.IsScalar()) {
      t.entry.label = n.Scalar();
      if (t.entry.label != "none") t.entry.steps = {t.entry.label};
      return t;
    }
    if (!n.IsMap()) fail(n, "transforms: expected none, a step or a mapping, got " + kind(n));
    check_keys(n, "a transforms entry", with({"name", "steps"}, kLayerKeys));
    if (n["steps"]) {
      const YAML::Node& s = n["steps"];
      if (s.IsSequence()) {
        for (const auto& x : s) t.entry.steps.push_back(text(x, "steps"));
      } else {
        t.entry.steps.push_back(text(s, "steps"));
      }
      for (auto it = t.entry.steps.begin(); it != t.entry.steps.end();)
        it = (*it == "none") ? t.entry.steps.erase(it) : it + 1;
    }
    if (n["name"])
      t.entry.label = text(n["name"], "name");
    else
      t.entry.label = t.entry.steps.empty() ? "none" : join(t.entry.steps, " + ");
    t.layer = layer(n);
    return t;
  }

  Backend backend(const YAML::Node& n) const {
    Backend b;
    if (n.IsScalar()) {
      b.name = n.Scalar();
      return b;
    }
    if (!n.IsMap()) fail(n, "backends: expected a name or a mapping, got " + kind(n));
    check_keys(n, "a backends entry", with({"name"}, kLayerKeys));
    if (!n["name"]) fail(n, "a backends entry needs name: BACKEND[,FALLBACK]");
    b.name = text(n["name"], "name");
    b.layer = layer(n);
    return b;
  }

  // include/exclude rule: axis -> accepted values (scalar or list), as text.
  struct Rule {
    YAML::Node node;
    std::map<std::string, std::vector<std::string>> values;
    Layer layer;  // include only: settings for the added points
    bool matches(const Point& p) const {
      auto has = [&](const std::string& axis, const std::string& v) {
        auto it = values.find(axis);
        return it == values.end() ||
               std::find(it->second.begin(), it->second.end(), v) != it->second.end();
      };
      return has("model", p.model.label) && has("transform", p.transform.label) &&
             has("backend", p.backend) && has("precision", p.precision) &&
             has("format", p.format) && has("threads", std::to_string(p.threads)) &&
             has("batch", std::to_string(p.batch)) && has("scenario", p.scenario) &&
             has("stages", std::to_string(p.stages)) && has("devices", p.devices) &&
             has("partition", p.partition);
    }
  };

  Rule rule(const YAML::Node& n, const std::string& what, bool allow_settings,
            const std::vector<Model>& models, const std::vector<Transform>& transforms) const {
    if (!n.IsMap()) fail(n, what + ": each rule is a mapping of axis: value(s), got " + kind(n));
    check_keys(n, what + " rule", allow_settings ? with(kAxisKeys, kLayerKeys) : kAxisKeys);
    if (n.size() == 0) fail(n, what + ": an empty rule matches every point");
    Rule r;
    r.node = n;
    for (const auto& kv : n) {
      std::string k = kv.first.Scalar();
      if (std::find(kAxisKeys.begin(), kAxisKeys.end(), k) == kAxisKeys.end()) continue;
      std::vector<std::string> vals;
      for (const auto& x : items(kv.second, what + " " + k)) {
        std::string v = k == "threads" || k == "batch" || k == "stages"
                            ? std::to_string(integer(x, what + " " + k, 1))
                            : text(x, what + " " + k);
        if (k == "format" && (v == "none" || v == "-")) v.clear();
        if (k == "devices") v = device_spec(v);
        bool known = true;
        if (k == "model")
          known = std::any_of(models.begin(), models.end(),
                              [&](const Model& m) { return m.entry.label == v; });
        if (k == "transform")
          known = std::any_of(transforms.begin(), transforms.end(),
                              [&](const Transform& t) { return t.entry.label == v; });
        if (!known) fail(x, what + ": no " + k + " named '" + v + "' in the spec");
        vals.push_back(v);
      }
      r.values[k] = vals;
    }
    if (allow_settings) r.layer = layer(n);
    return r;
  }

  // A number as written (the key keeps its text); at least 0.
  std::string decimal(const YAML::Node& n, const std::string& what) const {
    if (!n.IsScalar()) fail(n, what + ": expected a number, got " + kind(n));
    double v = -1;
    try {
      v = n.as<double>();
    } catch (const YAML::Exception&) {
      fail(n, what + ": expected a number, got " + kind(n));
    }
    if (!(v >= 0) || v > 1e6) fail(n, what + ": must be a number >= 0, got " + n.Scalar());
    return n.Scalar();
  }

  // A train --format policy from the formats axis: fp32 (nothing rounded), one format name
  // for W, A, E and G (the master copy stays fp32), or a whole CLASS=FORMAT,... policy.
  static std::string train_policy(const std::string& label, const std::string& accumulator) {
    std::string policy;
    if (label.find('=') != std::string::npos)
      policy = label;
    else if (label != "fp32")
      policy = "W=" + label + ",A=" + label + ",E=" + label + ",G=" + label;
    if (accumulator != "fp32") policy += (policy.empty() ? "" : ",") + ("ACC=" + accumulator);
    return policy;
  }
  static std::string train_rounding(const std::string& label) {
    return label.find('=') != std::string::npos ? label : "default=" + label;
  }

  // Checks one axis value with train's own parser; the error names the spec's line.
  void check_policy(const YAML::Node& at, const std::string& what, const std::string& format,
                    const std::string& rounding) const {
    try {
      (void)train::PrecisionPolicy::parse(format, rounding, 0);
    } catch (const UserError& e) {
      fail(at, what + " '" + at.Scalar() + "': " + e.what());
    }
  }

  // `train:` entries: one point per combination of the entry's formats, accumulators and
  // rounding (each a value or a list), with the entry's schedule.
  void train_points(const YAML::Node& list, const Layer& top, std::set<std::string>& seen,
                    SweepSpec& spec) const {
    for (const auto& n : items(list, "train")) {
      if (!n.IsMap())
        fail(n, "train: each entry is a mapping (model:, data:, formats:, ...), got " + kind(n));
      check_keys(n, "a train entry",
                 {"model", "name", "data", "limit", "epochs", "batch", "optimizer", "lr",
                  "momentum", "weight_decay", "seed", "threads", "formats", "accumulators",
                  "rounding", "timeout", "memory", "train_args"});
      if (!n["model"] || !n["model"].IsScalar())
        fail(n, "a train entry needs model: (a zoo name or an ONNX file)");
      ModelEntry m = model(n["model"]).entry;
      if (n["name"]) m.label = text(n["name"], "name");
      m.data = n["data"] ? text(n["data"], "data") : "fashion-mnist";
      if (n["limit"]) m.limit = integer(n["limit"], "limit", 1);
      TrainSettings t;
      if (n["epochs"]) t.epochs = integer(n["epochs"], "epochs", 1);
      if (n["optimizer"]) {
        t.optimizer = text(n["optimizer"], "optimizer");
        try {
          (void)train::parse_optimizer(t.optimizer);
        } catch (const UserError& e) {
          fail(n["optimizer"], std::string("optimizer: ") + e.what());
        }
      }
      if (n["lr"]) t.lr = decimal(n["lr"], "lr");
      if (n["momentum"]) t.momentum = decimal(n["momentum"], "momentum");
      if (n["weight_decay"]) t.weight_decay = decimal(n["weight_decay"], "weight_decay");
      if (n["seed"]) t.seed = integer(n["seed"], "seed", 0);
      if (n["train_args"]) t.args = args(n["train_args"], "train_args");
      const int64_t batch = n["batch"] ? integer(n["batch"], "batch", 1) : 64;
      const int64_t threads = n["threads"] ? integer(n["threads"], "threads", 1) : 1;
      Layer l = top;
      if (n["timeout"]) l.timeout_s = number(n["timeout"], "timeout");
      if (n["memory"]) l.memory_mib = integer(n["memory"], "memory (MiB)", 0);

      auto axis = [&](const char* key, const std::string& dflt) {
        std::vector<YAML::Node> v;
        if (n[key])
          v = items(n[key], key);
        else
          v.push_back(YAML::Node(dflt));
        for (const auto& x : v) (void)text(x, key);
        return v;
      };
      const auto formats = axis("formats", "fp32");
      const auto accumulators = axis("accumulators", "fp32");
      const auto roundings = axis("rounding", "nearest");
      for (const auto& f : formats)
        check_policy(f, "train formats", train_policy(f.Scalar(), "fp32"), "");
      for (const auto& a : accumulators)
        check_policy(a, "train accumulators", train_policy("fp32", a.Scalar()), "");
      for (const auto& r : roundings)
        check_policy(r, "train rounding", "", train_rounding(r.Scalar()));
      for (const auto& f : formats)
        for (const auto& a : accumulators)
          for (const auto& r : roundings) {
            Point pt{
                m,       {"none", {}}, "train", f.Scalar(), train_policy(f.Scalar(), a.Scalar()),
                threads, batch,        "train", 1,          "",
                "",      l.settings(), t};
            if (f.Scalar().find("ACC=") != std::string::npos && a.Scalar() != "fp32")
              fail(a, "train accumulators: the format '" + f.Scalar() + "' already sets ACC=");
            pt.train->accumulator = a.Scalar();
            pt.train->rounding = r.Scalar();
            pt.train->rounding_spec = train_rounding(r.Scalar());
            check_policy(r, "train rounding", pt.format, pt.train->rounding_spec);
            if (seen.insert(pt.key()).second) spec.points.push_back(std::move(pt));
          }
    }
  }

  SweepSpec parse(const std::string& yaml_text) const {
    const YAML::Node root = yaml_load(yaml_text, origin);
    if (!root.IsMap()) {
      if (root.IsNull()) throw UserError(origin + ": empty spec: the grid would be empty");
      fail(root, "a sweep spec is a mapping (models:, backends:, ...), got " + kind(root));
    }
    check_keys(root, "the spec",
               with({"name", "models", "transforms", "backends", "include", "exclude", "train"},
                    kLayerKeys));
    SweepSpec spec;
    spec.origin = origin;
    spec.name = root["name"] ? text(root["name"], "name") : fs::path(origin).stem().string();
    if (!root["models"] && !root["train"])
      fail(root, "the spec needs models: (zoo names or ONNX files) or train: entries");

    std::vector<Model> models;
    std::set<std::string> labels;
    if (root["models"])
      for (const auto& n : items(root["models"], "models")) {
        models.push_back(model(n));
        if (!labels.insert(models.back().entry.label).second)
          fail(n,
               "models: two entries named '" + models.back().entry.label + "' (give one a name:)");
      }
    std::vector<Transform> transforms;
    labels.clear();
    if (root["transforms"]) {
      for (const auto& n : items(root["transforms"], "transforms")) {
        transforms.push_back(transform(n));
        if (!labels.insert(transforms.back().entry.label).second)
          fail(n, "transforms: two entries named '" + transforms.back().entry.label + "'");
      }
    } else {
      transforms.push_back({{"none", {}}, {}});
    }
    std::vector<Backend> backends;
    if (root["backends"]) {
      for (const auto& n : items(root["backends"], "backends")) backends.push_back(backend(n));
    } else {
      backends.push_back({"cpu,ref", {}});
    }

    Layer top;
    top.precisions = std::vector<std::string>{"fp32"};
    top.formats = std::vector<std::string>{""};
    top.scenarios = std::vector<std::string>{"single-stream"};
    top.threads = std::vector<int64_t>{1};
    top.batch = std::vector<int64_t>{1};
    top.stages = std::vector<int64_t>{1};
    top.devices = std::vector<std::string>{""};
    top.partition = std::vector<std::string>{"optimal"};
    top.apply(layer(root));

    std::vector<Rule> excludes, includes;
    if (root["exclude"])
      for (const auto& n : items(root["exclude"], "exclude"))
        excludes.push_back(rule(n, "exclude", false, models, transforms));
    if (root["include"])
      for (const auto& n : items(root["include"], "include"))
        includes.push_back(rule(n, "include", true, models, transforms));

    std::set<std::string> seen;
    auto emit = [&](const Model& m, const Transform& t, const Backend& b, const Layer* extra,
                    const Rule* fixed, bool apply_excludes) {
      Layer eff = top;
      eff.apply(m.layer);
      eff.apply(t.layer);
      eff.apply(b.layer);
      if (extra) eff.apply(*extra);
      auto pick = [&](const std::string& axis, const std::vector<std::string>& list) {
        if (fixed) {
          auto it = fixed->values.find(axis);
          if (it != fixed->values.end()) return it->second;
        }
        return list;
      };
      std::vector<std::string> threads, batch, stages;
      for (auto v : *eff.threads) threads.push_back(std::to_string(v));
      for (auto v : *eff.batch) batch.push_back(std::to_string(v));
      for (auto v : *eff.stages) stages.push_back(std::to_string(v));
      for (const auto& p : pick("precision", *eff.precisions))
        for (const auto& f : pick("format", *eff.formats))
          for (const auto& th : pick("threads", threads))
            for (const auto& ba : pick("batch", batch))
              for (const auto& sc : pick("scenario", *eff.scenarios))
                for (const auto& dv : pick("devices", *eff.devices))
                  for (const auto& st : pick("stages", stages))
                    for (const auto& pa : pick("partition", *eff.partition)) {
                      Point pt{m.entry,
                               t.entry,
                               b.name,
                               p,
                               f,
                               std::stoll(th),
                               std::stoll(ba),
                               sc,
                               std::stoll(st),
                               dv,
                               dv.empty() ? "" : pa,
                               eff.settings(),
                               std::nullopt};
                      if (!pt.pipelined() && pt.stages > 1)
                        fail(fixed ? fixed->node : root,
                             "stages: " + st + " stages need devices: (a preset or a file)");
                      if (apply_excludes &&
                          std::any_of(excludes.begin(), excludes.end(),
                                      [&](const Rule& r) { return r.matches(pt); }))
                        continue;
                      if (seen.insert(pt.key()).second) spec.points.push_back(std::move(pt));
                    }
    };
    for (const auto& m : models)
      for (const auto& t : transforms)
        for (const auto& b : backends) emit(m, t, b, nullptr, nullptr, true);
    for (const auto& r : includes) {
      auto named = [&](const std::string& axis, const std::string& v) {
        auto it = r.values.find(axis);
        return it == r.values.end() ||
               std::find(it->second.begin(), it->second.end(), v) != it->second.end();
      };
      std::vector<Backend> bs;
      if (auto it = r.values.find("backend"); it != r.values.end()) {
        for (const auto& name : it->second) {
          auto known = std::find_if(backends.begin(), backends.end(),
                                    [&](const Backend& b) { return b.name == name; });
          bs.push_back(known != backends.end() ? *known : Backend{name, {}});
        }
      } else {
        bs = backends;
      }
      for (const auto& m : models)
        if (named("model", m.entry.label))
          for (const auto& t : transforms)
            if (named("transform", t.entry.label))
              for (const auto& b : bs) emit(m, t, b, &r.layer, &r, false);
    }
    if (root["train"]) train_points(root["train"], top, seen, spec);
    if (spec.points.empty()) {
      const YAML::Node& at = root["exclude"] ? root["exclude"] : root;
      fail(at, "the grid is empty (every point is excluded)");
    }
    return spec;
  }
};

}  // namespace

std::string TrainSettings::schedule(int64_t limit) const {
  std::string s = "e" + std::to_string(epochs);
  if (limit > 0) s += " n" + std::to_string(limit);
  if (!optimizer.empty()) s += " " + optimizer;
  if (!lr.empty()) s += " lr=" + lr;
  if (!momentum.empty()) s += " m=" + momentum;
  if (!weight_decay.empty()) s += " wd=" + weight_decay;
  s += " s" + std::to_string(seed);
  for (const auto& a : args) s += " " + a;
  return s;
}

std::string Point::key() const {
  if (train)
    return model.label + "|train|" + precision + "|acc=" + train->accumulator + "|" +
           train->rounding + "|" + train->schedule(model.limit) + "|t" + std::to_string(threads) +
           "|b" + std::to_string(batch);
  std::string k = model.label + "|" + transform.label + "|" + backend + "|" + precision + "|" +
                  (format.empty() ? "-" : format) + "|t" + std::to_string(threads) + "|b" +
                  std::to_string(batch) + "|" + scenario;
  if (pipelined()) k += "|k" + std::to_string(stages) + "|" + devices + "|" + partition;
  return k;
}

nlohmann::json Point::to_json() const {
  nlohmann::json j;
  j["key"] = key();
  j["model"] = {{"label", model.label}};
  if (!model.zoo.empty()) j["model"]["zoo"] = model.zoo;
  if (!model.file.empty()) j["model"]["file"] = model.file;
  if (!model.data.empty()) j["model"]["data"] = model.data;
  if (model.limit > 0) j["model"]["limit"] = model.limit;
  j["transform"] = {{"label", transform.label}, {"steps", transform.steps}};
  j["backend"] = backend;
  j["precision"] = precision;
  j["format"] = format;
  j["threads"] = threads;
  j["batch"] = batch;
  j["scenario"] = scenario;
  if (pipelined()) {
    j["stages"] = stages;
    j["devices"] = devices;
    j["partition"] = partition;
  }
  if (train)
    j["train"] = {{"accumulator", train->accumulator},
                  {"rounding", train->rounding},
                  {"rounding_spec", train->rounding_spec},
                  {"epochs", train->epochs},
                  {"optimizer", train->optimizer},
                  {"lr", train->lr},
                  {"momentum", train->momentum},
                  {"weight_decay", train->weight_decay},
                  {"seed", train->seed},
                  {"args", train->args}};
  nlohmann::json s;
  if (!settings.power.empty()) s["power"] = settings.power;
  if (!settings.calibration.empty()) s["calibration"] = settings.calibration;
  if (settings.duration_s > 0) s["duration_s"] = settings.duration_s;
  if (settings.min_queries > 0) s["min_queries"] = settings.min_queries;
  s["timeout_s"] = settings.timeout_s;
  s["memory_mib"] = settings.memory_mib;
  if (!settings.bench_args.empty()) s["bench_args"] = settings.bench_args;
  if (!settings.eval_args.empty()) s["eval_args"] = settings.eval_args;
  j["settings"] = s;
  return j;
}

SweepSpec parse_sweep_spec(const std::string& yaml_text, const std::string& origin,
                           const std::string& base_dir) {
  return Parser{origin, base_dir}.parse(yaml_text);
}

SweepSpec load_sweep_spec(const std::string& path) {
  std::error_code ec;
  if (fs::is_directory(path, ec)) throw UserError(path + ": is a directory, not a sweep spec");
  std::ifstream in(path, std::ios::binary);
  if (!in) throw UserError(path + ": no such file or not readable");
  std::ostringstream text;
  text << in.rdbuf();
  return parse_sweep_spec(text.str(), path, fs::path(path).parent_path().string());
}

std::vector<Point> shard_points(const std::vector<Point>& points, int index, int count) {
  std::vector<Point> out;
  for (const auto& p : points) {
    uint64_t h = std::stoull(measure::sha256_hex(p.key()).substr(0, 15), nullptr, 16);
    if (static_cast<int>(h % static_cast<uint64_t>(count)) == index) out.push_back(p);
  }
  return out;
}

std::pair<int, int> parse_shard(const std::string& text) {
  auto slash = text.find('/');
  int i = 0, n = 0;
  try {
    if (slash == std::string::npos) throw std::invalid_argument("no slash");
    size_t used = 0;
    i = std::stoi(text.substr(0, slash), &used);
    if (used != slash) throw std::invalid_argument("trailing");
    n = std::stoi(text.substr(slash + 1), &used);
    if (used != text.size() - slash - 1) throw std::invalid_argument("trailing");
  } catch (const std::exception&) {
    throw UserError("--shard: expected I/N (such as 1/4), got '" + text + "'");
  }
  if (n < 1 || i < 1 || i > n)
    throw UserError("--shard: I/N needs 1 <= I <= N, got '" + text + "'");
  return {i - 1, n};
}

}  // namespace frugal::explore
