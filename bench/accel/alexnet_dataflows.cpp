// Eyeriss's dataflow comparison (Chen, Emer, Sze, ISCA 2016, Sec. VI-VII) with frugal's
// accelerator model: AlexNet's five convolution layers, batch 16, a 16x16 array with 512 B
// of storage per PE plus a 128 KB buffer, the same total storage for every dataflow (RF
// bytes a dataflow does not use go to the buffer), 16-bit words and Eyeriss's normalized
// access costs (no capacity scaling). Prints energy per MAC by level, in units of one MAC,
// and each dataflow's total over row stationary's. Estimates of an analytical model.
// Usage: bench_accel_alexnet [max-evaluations]
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "frugal/accel/estimate.h"

namespace fa = frugal::accel;

namespace {

fa::Layer conv(const std::string& name, int64_t m, int64_t c, int64_t p, int64_t r, int64_t stride,
               int64_t groups) {
  fa::Layer l;
  l.node = name;
  l.op = "Conv";
  l.shape.bounds = {16, m / groups, c / groups, p, p, r, r, groups};
  l.shape.stride_h = l.shape.stride_w = stride;
  l.weights.rows = m;
  l.weights.cols = c / groups * r * r;
  l.weights.params = l.weights.nonzeros = l.weights.rows * l.weights.cols;
  return l;
}

}  // namespace

int main(int argc, char** argv) {
  const std::vector<fa::Layer> layers = {
      conv("conv1", 96, 3, 55, 11, 4, 1),   conv("conv2", 256, 96, 27, 5, 1, 2),
      conv("conv3", 384, 256, 13, 3, 1, 1), conv("conv4", 384, 384, 13, 3, 1, 2),
      conv("conv5", 256, 384, 13, 3, 1, 2),
  };
  fa::Architecture arch = fa::load_architecture("eyeriss");
  arch.name = "eyeriss-isca16";
  arch.pe_rows = arch.pe_cols = 16;
  arch.rf_bytes = {448.0 * 512 / 520, 24.0 * 512 / 520, 48.0 * 512 / 520};
  arch.glb_bytes = 128 * 1024;
  arch.sparse = fa::SparseMode::kNone;
  arch.energy.scale_by_capacity = false;
  fa::EstimateOptions o;
  o.equal_storage = true;
  o.formats = frugal::numeric::parse_format_spec("w=int16,a=int16,acc=int16");
  o.mapper.max_evaluations = argc > 1 ? std::atoll(argv[1]) : 30000;
  const fa::Prices prices = fa::price(arch, o.formats);
  std::printf(
      "AlexNet CONV1-5, batch 16, 256 PEs, 512 B/PE + 128 KB, equal storage, 16-bit "
      "(estimated, analytical model)\n");
  std::printf("energy per MAC in units of one MAC (%.3f pJ):\n", prices.mac_pj);
  std::printf("%-5s %8s %8s %8s %8s %8s %8s %9s %6s\n", "flow", "DRAM", "GLB", "NoC", "RF", "MAC",
              "total", "vs RS", "util");
  double rs_total = 0;
  std::vector<std::vector<double>> rows;
  for (fa::Dataflow d : {fa::Dataflow::kRowStationary, fa::Dataflow::kWeightStationary,
                         fa::Dataflow::kOutputStationary, fa::Dataflow::kNoLocalReuse}) {
    o.dataflow = d;
    std::vector<double> e(fa::kLevels, 0.0);
    double macs = 0, total = 0, busy = 0, slots = 0;
    for (const auto& l : layers) {
      const fa::LayerEstimate est = fa::estimate_layer(l, arch, o);
      for (int lv = 0; lv < fa::kLevels; ++lv) e[lv] += est.map.cost.energy_pj[lv];
      macs += est.map.cost.macs;
      total += est.map.cost.total_pj;
      busy += est.map.cost.macs;
      slots += est.map.cost.cycles * arch.pes();
    }
    const double unit = macs * prices.mac_pj;
    if (d == fa::Dataflow::kRowStationary) rs_total = total;
    std::printf("%-5s %8.3f %8.3f %8.3f %8.3f %8.3f %8.3f %8.2fx %5.1f%%\n",
                fa::to_string(d).c_str(), e[0] / unit, e[1] / unit, e[2] / unit, e[3] / unit,
                e[4] / unit, total / unit, total / rs_total, 100 * busy / slots);
  }
  return 0;
}
