// The `ref` backend: every operator's reference kernel, the oracle for all other backends.
// A node carrying fused post-ops (ops/post_ops.h) runs as its base operator's reference
// kernel followed by the post-ops, so a fused node is correct wherever it falls back.
#include "frugal/kernels/backend.h"
#include "frugal/ops/post_ops.h"

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

class RefFusedKernel final : public Kernel {
 public:
  RefFusedKernel(const ops::OpDef& def, const ir::Node& node)
      : def_(def),
        base_(ops::base_node(node)),
        post_ops_(ops::post_ops_of(node)),
        sum_input_(ops::has_sum(post_ops_) ? ops::sum_operand_index(node.op_type) : 0) {}

  void run(ops::KernelContext& ctx) override {
    std::vector<const Tensor*> ins;
    for (size_t i = 0; i < base_.inputs.size(); ++i)
      ins.push_back(ctx.has_input(i) ? &ctx.input(i) : nullptr);
    std::vector<Tensor*> outs;
    for (size_t o = 0; o < ctx.num_outputs(); ++o)
      outs.push_back(ctx.has_output(o) ? &ctx.output(o) : nullptr);
    ops::KernelContext base_ctx(base_, ctx.opset(), std::move(ins), std::move(outs));
    def_.ref(base_ctx);
    ops::apply_post_ops(post_ops_, ctx.output(0),
                        ops::has_sum(post_ops_) ? &ctx.input(sum_input_) : nullptr);
  }
  std::string impl() const override { return "ref+post_ops"; }

 private:
  const ops::OpDef& def_;
  ir::Node base_;
  std::vector<ops::PostOp> post_ops_;
  size_t sum_input_;
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
    if (ops::has_post_ops(v.node)) return std::make_unique<RefFusedKernel>(*def, v.node);
    return std::make_unique<RefKernel>(*def);
  }
};

}  // namespace

// The oracle: last in `auto`, so that every node some faster backend declines still runs.
FRUGAL_REGISTER_BACKEND(
    ref, "ref", [](const BackendConfig&) { return std::make_unique<RefBackend>(); },
    [] {
      BackendTraits t;
      t.auto_rank = 100;
      return t;
    }());

}  // namespace frugal::kernels
