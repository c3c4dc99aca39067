// frugal partition MODEL --stages K [--devices D] [--method ...] [--objective ...] -o DIR:
// cut a model into pipeline segments, one per device (pipeline/partition.h).
#include <cstdio>

#include "frugal/cli/command.h"
#include "frugal/cli/common.h"
#include "frugal/cli/engine_options.h"
#include "frugal/pipeline/partition.h"
#include "frugal/pipeline/segments.h"

namespace frugal::cli {
namespace {

struct PartitionArgs {
  std::string model, devices = "host-cores", method = "optimal", objective, output;
  std::string print_devices;
  int stages = 1;
  CLI::Option* stages_opt = nullptr;  // not given: 2 with a remote device, else 1
  double profile_s = 0.3;
  bool json = false;
  EngineArgs engine;
  CLI::Option* precision_opt = nullptr;
};

std::string seconds(double s, bool estimate) {
  char buf[48];
  std::snprintf(buf, sizeof buf, "%.3f ms%s", 1e3 * s, estimate ? " (estimate)" : "");
  return buf;
}

// A model device without an fp32 peak (an Edge TPU) sets the precision when none is given.
std::string default_precision(const pipeline::DeviceSet& d) {
  for (const auto& dev : d.devices)
    if (dev.kind == pipeline::DeviceKind::kModel && !dev.model.peak_macs_per_s.count("fp32"))
      return dev.model.peak_macs_per_s.begin()->first;
  return "fp32";
}

pipeline::PartitionOptions options(const PartitionArgs& a, const pipeline::DeviceSet& d,
                                   const ir::Graph& g) {
  pipeline::PartitionOptions o;
  const bool remote = pipeline::has_remote(d);
  o.stages = a.stages_opt->count() > 0 ? a.stages : (remote ? 2 : 1);
  o.method = pipeline::parse_method(a.method);
  o.objective = pipeline::parse_objective(a.objective.empty() ? (remote ? "latency" : "throughput")
                                                              : a.objective);
  o.precision = a.precision_opt->count() > 0 ? a.engine.precision : default_precision(d);
  o.profile_seconds = a.profile_s;
  o.fold = !a.engine.no_optimize;
  bool host = false;
  for (const auto& dev : d.devices) host = host || dev.kind == pipeline::DeviceKind::kCpu;
  if (host) o.session = session_options(a.engine, a.model, &g);
  o.session.infer.batch = a.engine.batch;
  parse_input_shapes(a.engine.shapes, o.session.infer);
  return o;
}

void print_partition(const pipeline::Partition& p, const ir::Graph& g) {
  std::printf("model     %s, %zu nodes; devices %s; method %s, objective %s, precision %s\n",
              g.name.c_str(), g.nodes.size(), p.devices_source.c_str(),
              pipeline::method_name(p.method), pipeline::objective_name(p.objective),
              p.precision.c_str());
  Table t({"#", "device", "nodes", "first..last", "params", "MACs", "in B", "out B", "memory B",
           "time"});
  for (size_t k = 0; k < p.segments.size(); ++k) {
    const auto& s = p.segments[k];
    t.add({std::to_string(k), s.device,
           std::to_string(s.stats.first) + "-" + std::to_string(s.stats.last - 1),
           s.first_node + ".." + s.last_node, with_commas(s.stats.params),
           si(static_cast<double>(s.stats.macs)), with_commas(s.stats.bytes_in),
           with_commas(s.stats.bytes_out), with_commas(s.stats.memory_bytes()),
           seconds(s.cost.time_s, s.estimate)});
  }
  std::printf("%s\n", t.str().c_str());
  const char* est = p.estimate ? " (estimate)" : "";
  std::printf("predicted slowest stage %s, throughput %.1f /s%s, latency %s",
              seconds(p.slowest_s, false).c_str(), p.throughput_per_s, est,
              seconds(p.latency_s, p.estimate).c_str());
  if (p.energy_j > 0) std::printf(", energy %.3f mJ per inference%s", 1e3 * p.energy_j, est);
  std::printf("\n");
}

void print_curve(const std::vector<pipeline::SplitPoint>& curve, const pipeline::Partition& p) {
  Table t({"cut", "after node", "sent B", "received B", "local", "transfer", "remote", "latency",
           "energy mJ"});
  for (const auto& s : curve) {
    char e[32];
    std::snprintf(e, sizeof e, "%.3f", 1e3 * s.energy_j);
    t.add({std::to_string(s.cut), s.after, with_commas(s.bytes_sent), with_commas(s.bytes_received),
           seconds(s.local_s, false), seconds(s.transfer_s, false), seconds(s.remote_s, false),
           seconds(s.latency_s, false), e});
  }
  std::printf(
      "\nsplit curve (all figures estimates: modeled devices; cut 0 = all remote, cut %zu = all "
      "local)\n%s\n",
      curve.size() - 1, t.str().c_str());
  const size_t cut = p.segments.size() == 2 ? p.segments[0].stats.last
                     : p.segments[0].kind == pipeline::DeviceKind::kRemote ? 0
                                                                           : curve.size() - 1;
  std::printf("best for %s: cut %zu (after %s): latency %s, energy %.3f mJ (estimates)\n",
              pipeline::objective_name(p.objective), cut, curve[cut].after.c_str(),
              seconds(curve[cut].latency_s, false).c_str(), 1e3 * curve[cut].energy_j);
}

void run(const PartitionArgs& a) {
  if (!a.print_devices.empty()) {
    std::printf("%s", pipeline::preset_yaml(a.print_devices).c_str());
    return;
  }
  if (a.model.empty()) throw UserError("partition: give a MODEL (file or zoo name)");
  const pipeline::DeviceSet devices = pipeline::load_devices(a.devices);
  const ir::Graph g = load_model(a.model, 0, "partition");
  const pipeline::PartitionOptions o = options(a, devices, g);
  const pipeline::Partition p = pipeline::partition(g, devices, o);
  std::vector<pipeline::SplitPoint> curve;
  if (pipeline::has_remote(devices)) curve = pipeline::split_curve(g, devices, o);
  if (!a.output.empty()) pipeline::write_segments(p, a.output);
  if (a.json) {
    nlohmann::json j = pipeline::partition_json(p, false);
    for (const auto& s : curve)
      j["split_curve"].push_back({{"cut", s.cut},
                                  {"after", s.after},
                                  {"bytes_sent", s.bytes_sent},
                                  {"bytes_received", s.bytes_received},
                                  {"local_s", s.local_s},
                                  {"transfer_s", s.transfer_s},
                                  {"remote_s", s.remote_s},
                                  {"latency_s", s.latency_s},
                                  {"energy_j", s.energy_j}});
    if (!a.output.empty()) j["output"] = a.output;
    print_json(j);
    return;
  }
  print_partition(p, g);
  if (!curve.empty()) print_curve(curve, p);
  if (!a.output.empty())
    std::printf("wrote %s (%zu segments + manifest.json)\n", a.output.c_str(), p.segments.size());
}

void setup(CLI::App& app) {
  auto a = std::make_shared<PartitionArgs>();
  a->engine.backends = {"cpu", "ref"};
  auto* sub = app.add_subcommand("partition", "Cut a model into pipeline segments over devices");
  sub->footer(
      "Devices: a preset (host-cores, edgetpu-usb, edgetpu-pcie, edgetpu-x8, phone+cloud) or a\n"
      "YAML file (--print-devices PRESET shows the format). Modeled devices' figures are\n"
      "estimates. docs/pipeline.md.\n"
      "Examples:\n  frugal partition resnet50 --stages 4 --devices edgetpu-x8 -o r50.seg\n"
      "  frugal partition mobilenet_v2 --stages 2 --method profile\n"
      "  frugal partition resnet18 --devices phone+cloud --objective energy\n"
      "  frugal info --segments r50.seg");
  sub->add_option("model", a->model, "ONNX model file or zoo name");
  a->stages_opt = sub->add_option("--stages", a->stages,
                                  "number of segments K (default 1; 2 with a remote device)");
  sub->add_option("--devices", a->devices, "preset name or devices YAML file (default host-cores)");
  sub->add_option("--method", a->method, "optimal (default), params or profile");
  sub->add_option(
      "--objective", a->objective,
      "throughput (default: slowest stage), latency or energy (remote default: latency)");
  sub->add_option("-o,--output", a->output, "folder to write: segment_K.onnx + manifest.json");
  sub->add_option("--profile-seconds", a->profile_s,
                  "time spent profiling on host cores (default 0.3 s per profile)");
  sub->add_option("--print-devices", a->print_devices, "print a preset's YAML and exit");
  sub->add_flag("--json", a->json, "machine-readable output");
  add_engine_options(sub, a->engine);
  a->precision_opt = sub->get_option("--precision");
  sub->callback([a] { run(*a); });
}

}  // namespace

FRUGAL_REGISTER_COMMAND(partition, 48, setup);

}  // namespace frugal::cli
