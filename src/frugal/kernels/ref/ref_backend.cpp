// The `ref` backend: every operator's reference kernel, the oracle for all other backends.
#include "frugal/kernels/backend.h"

namespace frugal::kernels {
namespace {

class RefKernel final : public Kernel {
 public:
  explicit RefKernel(const ops::OpDef& def) : def_(def) {}
  void run(ops::KernelContext& ctx) override { def_.ref(ctx); }
  std::string impl() const override { return "ref"; }

 private:
  const ops::OpDef& def_;
};

class RefBackend final : public Backend {
 public:
  std::string name() const override { return "ref"; }
  std::unique_ptr<Kernel> create(const NodeView& v, std::string& why_not) override {
    const ops::OpDef* def = ops::find_op(v.node.domain, v.node.op_type);
    if (!def || !def->ref) {
      why_not = "no reference kernel for " + v.node.op_type;
      return nullptr;
    }
    return std::make_unique<RefKernel>(*def);
  }
};

}  // namespace

FRUGAL_REGISTER_BACKEND(ref, "ref", [](const BackendConfig&) { return std::make_unique<RefBackend>(); });

}  // namespace frugal::kernels
