// Backend interface (kernels layer, so that backends below the runtime can implement it): a backend says whether it can run a node (and if not, why), and
// builds a Kernel for it. The Session assigns each node to the first backend in the
// user's preference list that accepts it, and records every refusal (STYLE.md: kernel
// choice that explains itself).
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

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
  virtual std::unique_ptr<Kernel> create(const NodeView& view, std::string& why_not) = 0;
};

// Settings a backend may need beyond its name, from SessionOptions. Backends ignore
// what does not concern them.
struct ValueRange {
  float min = 0, max = 0;
};
struct BackendConfig {
  // Number formats of the emulator: "w=e4m3,a=e4m3,acc=fp16:chunk=32" (empty: its default).
  std::string format;
  // Activation ranges by value name (calibration), for quantized backends (cpu:int8).
  std::map<std::string, ValueRange> ranges;
  // Sparse-weight kernels of the cpu backend: "off" | "auto" | "force" | "force:FORMAT"
  // (kernels/cpu/sparse_format.h).
  std::string sparse = "off";
};

using BackendFactory = std::function<std::unique_ptr<Backend>(const BackendConfig&)>;
void register_backend(const std::string& name, BackendFactory factory);
// Throws UserError naming the known backends when `name` is unknown.
std::unique_ptr<Backend> make_backend(const std::string& name, const BackendConfig& config = {});
std::vector<std::string> backend_names();

}  // namespace frugal::kernels

#define FRUGAL_REGISTER_BACKEND(ident, name, factory) \
  static const bool frugal_backend_registered_##ident = \
      (::frugal::kernels::register_backend(name, factory), true)
