#include "frugal/cli/engine_options.h"

namespace frugal::cli {

void add_engine_options(CLI::App* sub, EngineArgs& a) {
  sub->add_option("--backend", a.backends,
                  "backends in order of preference, e.g. cpu,ref or ref (default auto: the "
                  "fastest available here, then ref; info --plan shows the choice)")
      ->delimiter(',');
  sub->add_option("--precision", a.precision,
                  "precision of the cpu backend: fp32 (default), bf16, or int8 (Conv/Gemm/MatMul "
                  "quantized, the rest fp32; needs --calibration); of the cuda backend: fp32, "
                  "tf32, fp16, bf16 (Conv/Gemm/MatMul, fp32 accumulation)");
  sub->add_option("--calibration", a.calibration,
                  "activation ranges for --precision int8: FILE.json (frugal.ranges/1), "
                  "a.npy,b.npy,... (sample inputs, in model-input order), or random:N[:SEED] "
                  "(N seeded random inputs: for speed studies only, says nothing of accuracy)");
  sub->add_option("--format", a.format,
                  "number formats of the emu backend, e.g. w=e4m3,a=e4m3,acc=fp16:chunk=32");
  sub->add_option("--threads", a.threads, "compute threads of the cpu backend (default 1)");
  sub->add_option("--parallel-min-us", a.parallel_min_us,
                  "with --threads > 1, a node whose estimated work is below this many "
                  "microseconds on one thread runs on one (default 50; 0: every node on all)");
  sub->add_option("--batch", a.batch, "size of a dynamic batch dimension (default 1)");
  sub->add_option("--shape", a.shapes, "full shape of an input: NAME=DIMS");
  sub->add_flag("--no-optimize", a.no_optimize,
                "run the graph as given: no folding, identity removal or fusion passes");
  sub->add_option("--sparse", a.sparse,
                  "sparse-weight kernels of the cpu backend for Conv/Gemm/MatMul with zeros in "
                  "their weights: auto (default: where the cost model predicts a gain), off, "
                  "force (wherever one exists), force:csr|bitmap|bcsr1x16|bcsr4x16");
  sub->add_option(
      "--device-graphs", a.device_graphs,
      "on (default): stretches of steps on a GPU are recorded once (a device graph) and "
      "replayed with one launch; "
      "off: each kernel is launched at every run (to compare)");
  sub->add_option("--precision-map", a.precision_map,
                  "per-node precision of the cpu backend, FILE.json {node: fp32|bf16|int8} "
                  "(frugal compress --max-drop writes OUT.precision.json); int8 nodes need "
                  "--calibration or a QDQ model");
}

}  // namespace frugal::cli
