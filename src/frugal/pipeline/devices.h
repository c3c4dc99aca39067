// The devices a model is cut for and run on, read from a devices file (YAML) or a preset.
//
// A DeviceSet is an ordered list of Devices: stage k of a pipeline runs on devices[k]
// (a set with fewer devices than stages is refused by the partitioner). Each Device has a
// name, a kind and the fields of that kind:
//   cpu     host cores: `cores` (CPU ids the stage's worker is pinned to; empty: any) and
//           `threads` (compute threads of its Session; default: number of cores, else 1).
//   cuda    `index` of a CUDA device; accepted in files, refused when running where no CUDA
//           backend exists.
//   model   a modeled accelerator that only the simulator/partitioner "runs" (every figure
//           it gives is an estimate): peak MAC/s per precision, on-chip parameter memory,
//           off-chip parameter streaming bandwidth, host link bandwidth and latency, a fixed
//           overhead per layer, model load time, idle and active power, and optionally the
//           op types it can run.
//   accel   an accelerator of `frugal accel` (docs/accel.md), an analytical model (estimates):
//           `arch` (a preset: eyeriss, tpu, edge, eie; or an architecture YAML file),
//           `format` (w=..,a=..,acc=.. as for the emulator), optional `dataflow`
//           (ws, os, rs, nlr or best; default the architecture's), optional `cost`
//           (horowitz or synthesized: the MAC's price, accel/energy.h), and its host link
//           (`link_bytes_per_s`, `link_latency_s`). Each Conv, Gemm and MatMul costs the
//           time and energy accel::estimate_model gives it; other nodes run in the array's
//           output path at no cost.
//   remote  a server over a network link (Neurosurgeon, ASPLOS 2017): uplink/downlink
//           bandwidth, round-trip time, the radio's energy per byte sent and received, the
//           server's MAC/s and per-layer overhead (estimates).
// Every device may give `memory_bytes` (a hard capacity: a segment needing more cannot run
// there; 0 = unlimited) and `origin` says where it was defined ("FILE:LINE") for messages.
//
// File format (units are in the key names; numbers accept 2e12 and the suffixes k, M, G,
// Ki, Mi, Gi):
//   devices:
//     - name: tpu           # required, unique; with count N: tpu0 .. tpu{N-1}
//       kind: model
//       count: 8            # optional, replicates the entry
//       peak_macs_per_s: {int8: 2e12}
//       param_memory_bytes: 8Mi
//       ...
// Presets (compiled in, `frugal partition --print-devices NAME` prints one as a file to
// start from): host-cores, edgetpu-usb, edgetpu-pcie, edgetpu-x8, phone+cloud.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "frugal/accel/arch.h"
#include "frugal/numeric/cost_model.h"
#include "frugal/numeric/format_spec.h"

namespace frugal::pipeline {

enum class DeviceKind { kCpu, kCuda, kModel, kRemote, kAccel };
const char* device_kind_name(DeviceKind k);

struct CpuDevice {
  std::vector<int> cores;  // pin the stage's worker here; empty: not pinned
  int threads = 1;
};

struct CudaDevice {
  int index = 0;
};

// A modeled accelerator (estimates). Time of a segment of L layers (nodes with MACs),
// M MACs at precision p and P parameter bytes, reading I and writing O bytes:
//   link_latency_s + (I + O) / link_bytes_per_s + L * layer_overhead_s + M / peak_macs[p]
//   + max(0, P - param_memory_bytes) / stream_bytes_per_s
struct ModelDevice {
  std::map<std::string, double> peak_macs_per_s;  // precision ("int8", "fp32", ...) -> MAC/s
  int64_t param_memory_bytes = 0;                 // on-chip parameter cache
  double stream_bytes_per_s = 0;  // parameters beyond the cache, streamed every inference
  double link_bytes_per_s = 0;    // host link (inputs in, outputs out)
  double link_latency_s = 0;      // per inference, per direction pair
  double layer_overhead_s = 0;    // fixed cost per layer
  double load_s = 0;              // loading a segment onto the device (when it must reload)
  double idle_w = 0, active_w = 0;
  std::vector<std::string> ops;  // op types it runs; empty: all
};

// A modeled accelerator of frugal accel (estimates; see accel_device.h for its prices).
struct AccelDevice {
  accel::Architecture arch;
  numeric::FormatSpec formats;              // fp32 everywhere unless `format` says otherwise
  std::optional<accel::Dataflow> dataflow;  // nullopt: the architecture's own
  bool best_dataflow = false;               // `dataflow: best`: the cheapest per layer
  numeric::CostSource cost = numeric::CostSource::kHorowitz;  // `cost: synthesized`
  double link_bytes_per_s = 0;                                // host link (inputs in, outputs out)
  double link_latency_s = 0;                                  // per inference
};

// A server behind a network link (estimates).
struct RemoteDevice {
  double up_bytes_per_s = 0, down_bytes_per_s = 0;
  double rtt_s = 0;
  double sent_j_per_byte = 0, received_j_per_byte = 0;  // the client's radio
  double server_macs_per_s = 0;
  double layer_overhead_s = 0;
};

struct Device {
  std::string name;
  DeviceKind kind = DeviceKind::kCpu;
  int64_t memory_bytes = 0;  // 0: unlimited
  std::string origin;        // "FILE:LINE" of its entry
  CpuDevice cpu;
  CudaDevice cuda;
  ModelDevice model;
  RemoteDevice remote;
  AccelDevice accel;
  bool estimate() const { return kind != DeviceKind::kCpu && kind != DeviceKind::kCuda; }
};

struct DeviceSet {
  std::string source;  // preset name or file path
  std::vector<Device> devices;
};

// A preset name or a YAML file path. Throws UserError: unknown preset (naming the presets),
// unreadable file, or a malformed file ("FILE:LINE:COL: reason").
DeviceSet load_devices(const std::string& preset_or_file);
// Parses devices YAML text; `origin` names it in messages.
DeviceSet parse_devices(const std::string& yaml, const std::string& origin);

std::vector<std::string> preset_names();
// The preset's YAML text (host-cores is generated for this machine's CPUs).
std::string preset_yaml(const std::string& name);

// Bytes per parameter at a precision ("int8" 1, "fp16"/"bf16" 2, "fp32" 4; int4 0.5).
double bytes_per_param(const std::string& precision);

}  // namespace frugal::pipeline
