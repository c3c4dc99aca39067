// Backend interface (kernels layer, so that backends below the runtime can implement it): a backend
// says whether it can run a node (and if not, why), and builds a Kernel for it. The Session assigns
// each node to the first backend in the user's preference list that accepts it, and records every
// refusal (STYLE.md: kernel choice that explains itself).
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "frugal/core/device.h"
#include "frugal/ops/op.h"

namespace frugal::kernels {

class Kernel {
 public:
  virtual ~Kernel() = default;
  // Runs on inputs/outputs whose shapes are the inferred ones (outputs preallocated).
  virtual void run(ops::KernelContext& ctx) = 0;
  // Names the implementation ("ref", "onednn:jit:avx512_core", ...).
  virtual std::string impl() const = 0;
};

// What a backend sees of a node when deciding: the node, its opset, and the inferred
// info of its inputs and outputs (null for omitted ones).
struct NodeView {
  const ir::Node& node;
  int64_t opset;
  std::vector<const ops::TensorInfo*> inputs;
  std::vector<const ops::TensorInfo*> outputs;
  bool dynamic;  // output shapes known only at run time
};

class Backend {
 public:
  virtual ~Backend() = default;
  virtual std::string name() const = 0;
  // A kernel for the node, or null with `why_not` saying why this backend declines.
  // Built for the calling thread's thread count (kernels/threads.h), which the Session
  // sets to the count the kernel will run with.
  virtual std::unique_ptr<Kernel> create(const NodeView& view, std::string& why_not) = 0;
  // Where its kernels run and their outputs live (core/device.h): the Session plans each
  // value's memory on its producer's device and inserts a copy where a reader's device
  // cannot read it. Host backends: the host.
  virtual const Device& device() const { return host_device(); }
};

// Settings a backend may need beyond its name, from SessionOptions. Backends ignore
// what does not concern them.
struct ValueRange {
  float min = 0, max = 0;
};
struct BackendConfig {
  // Number formats of the emulator: "w=e4m3,a=e4m3,acc=fp16:chunk=32" (empty: its default).
  std::string format;
  // Activation ranges by value name (calibration), for backends that read them
  // (BackendTraits::reads_ranges).
  std::map<std::string, ValueRange> ranges;
  // Sparse-weight kernels: "off" | "auto" | "force" | "force:FORMAT" (checked by the
  // backends that have them, BackendTraits::check_config).
  std::string sparse = "off";
};

using BackendFactory = std::function<std::unique_ptr<Backend>(const BackendConfig&)>;

// What callers need to know of a backend before making one, so that code outside
// kernels/<backend>/ never matches backend names.
struct BackendTraits {
  // Reads activation ranges (BackendConfig::ranges): a QDQ model's activation pairs fold
  // into ranges for it, and calibration runs without it (it observes float32 values).
  bool reads_ranges = false;
  // Place in the `auto` list (lower first); -1: never chosen by `auto` (variants picked by
  // --precision, emulators).
  int auto_rank = -1;
  // Whether it can run on this machine (a GPU backend without a GPU: false). Null: yes.
  std::function<bool()> available;
  // Checks the BackendConfig settings it owns (UserError naming the option). Run for
  // every registered backend by check_backend_config, listed or not.
  std::function<void(const BackendConfig&)> check_config;
  // Its variants by number format, {"bf16": "cpu:bf16", ...} (--precision, mixed precision).
  std::map<std::string, std::string> variants;
  // For a variant: the backend it is a variant of, and whether it runs only some of its
  // operators (int8: Conv/Gemm/MatMul), so that the base follows it in a list.
  std::string base;
  bool partial = false;
  // Reads BackendConfig::format (--format: an emulator's number formats).
  bool reads_format = false;
  // Number format of its multiply-accumulates (the Record's MACs by format).
  std::string format = "fp32";
};

void register_backend(const std::string& name, BackendFactory factory, BackendTraits traits = {});
// Throws UserError naming the known backends when `name` is unknown.
std::unique_ptr<Backend> make_backend(const std::string& name, const BackendConfig& config = {});
std::vector<std::string> backend_names();
// Throws UserError naming the known backends when `name` is unknown.
const BackendTraits& backend_traits(const std::string& name);

// "auto": the best backends available here, in preference order (the GPU backend where one
// is registered and its device present, then cpu, then ref): those with an auto_rank.
std::vector<std::string> auto_backends();
// `list` with "auto" replaced by auto_backends() (later duplicates dropped); a list without
// "auto" is returned as is.
std::vector<std::string> resolve_backends(const std::vector<std::string>& list);
// `list` with variants mapped back to their base, then each backend that has a variant for
// `precision` replaced by it (followed by the base when the variant is partial); "fp32"
// gives the bases. nullopt when `precision` is not fp32 and no backend of `list` has it.
std::optional<std::vector<std::string>> with_precision(const std::vector<std::string>& list,
                                                       const std::string& precision);
// The registered backends that have a variant for `precision` ("cpu" for bf16), comma-separated.
std::string backends_with_precision(const std::string& precision);
// Runs every registered backend's check_config (UserError for a bad setting).
void check_backend_config(const BackendConfig& config);

}  // namespace frugal::kernels

// FRUGAL_REGISTER_BACKEND(ident, "name", factory[, traits])
#define FRUGAL_REGISTER_BACKEND(ident, name, ...)       \
  static const bool frugal_backend_registered_##ident = \
      (::frugal::kernels::register_backend(name, __VA_ARGS__), true)
