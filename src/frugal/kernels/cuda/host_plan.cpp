#include "frugal/kernels/cuda/host_plan.h"

#include <algorithm>
#include <cmath>

#include "frugal/core/error.h"

namespace frugal::kernels::cuda {

std::vector<size_t> inputs_read_on_device(const std::string& op_type, bool int8, size_t inputs) {
  std::vector<size_t> all(inputs);
  for (size_t i = 0; i < inputs; ++i) all[i] = i;
  if (op_type == "Concat" || op_type == "Add" || op_type == "Sub" || op_type == "Mul" ||
      op_type == "Div" || op_type == "Attention")
    return all;
  // The data input (a constant one, e.g. an embedding table, is uploaded).
  std::vector<size_t> read = {0};
  const bool conv = op_type == "Conv" || op_type == "ConvTranspose";
  if (!int8 && conv)
    read = {0, 1, 2};  // weights (fp16/bf16: converted once on the GPU), bias
  else if (!int8 && (op_type == "Gemm" || op_type == "MatMul"))
    read = {0, 1};  // B (Gemm's C is folded into the epilogue's bias on the host)
  // The residual-sum post-op's operand (ops/post_ops.h; a constant one is a MatMul's bias).
  if (conv || op_type == "Gemm") read.push_back(3);
  if (op_type == "MatMul") read.push_back(2);
  std::vector<size_t> present;
  for (size_t i : read)
    if (i < inputs && (present.empty() || i > present.back())) present.push_back(i);
  return present;
}

}  // namespace frugal::kernels::cuda

namespace frugal::kernels::cuda {

Int8Weights quantize_per_channel(const float* w, int64_t n, int64_t k, int64_t k_pad, bool trans) {
  constexpr float kQmax = 127.f;
  auto at = [&](int64_t kk, int64_t j) { return trans ? w[j * k + kk] : w[kk * n + j]; };
  Int8Weights r;
  r.q.assign(static_cast<size_t>(n * k_pad), 0);
  r.scale.resize(static_cast<size_t>(n));
  for (int64_t j = 0; j < n; ++j) {
    float amax = 0;
    for (int64_t kk = 0; kk < k; ++kk) amax = std::max(amax, std::fabs(at(kk, j)));
    if (!std::isfinite(amax)) throw UserError("weights not finite");
    const float s = amax > 0 ? amax / kQmax : 1.f;
    for (int64_t kk = 0; kk < k; ++kk)
      r.q[static_cast<size_t>(j * k_pad + kk)] =
          static_cast<int8_t>(std::clamp(std::nearbyint(at(kk, j) / s), -kQmax, kQmax));
    r.scale[static_cast<size_t>(j)] = s;
  }
  return r;
}

Window2d window_2d(const ops::WindowGeometry& g) {
  const size_t off = g.rank() == 1 ? 1 : 0;
  auto at = [&](const std::vector<int64_t>& v, size_t d, int64_t one) {
    return d < off ? one : v[d - off];
  };
  Window2d w;
  w.kh = at(g.kernel, 0, 1);
  w.kw = at(g.kernel, 1, 1);
  w.sh = at(g.strides, 0, 1);
  w.sw = at(g.strides, 1, 1);
  w.dh = at(g.dilations, 0, 1);
  w.dw = at(g.dilations, 1, 1);
  w.ph = at(g.pad_begin, 0, 0);
  w.pw = at(g.pad_begin, 1, 0);
  w.ph_end = at(g.pad_end, 0, 0);
  w.pw_end = at(g.pad_end, 1, 0);
  return w;
}

std::string im2col_of(const ir::Node& conv, const Shape& x, const Shape& w, const Shape& y,
                      Im2col& g) {
  if (x.size() != 3 && x.size() != 4) return "int8 convolution is 1-D or 2-D only";
  const int64_t groups = conv.attr_int("group", 1);
  if (groups < 1 || x[1] % groups != 0 || w[0] % groups != 0)
    return "group " + std::to_string(groups) + " does not divide the channels";
  const std::vector<int64_t> in(x.begin() + 2, x.end()), kernel(w.begin() + 2, w.end());
  const Window2d win = window_2d(ops::sliding_window(conv, in, kernel, false));
  g.n = x[0];
  g.c = x[1];
  g.h = x.size() == 3 ? 1 : x[2];
  g.w = x.back();
  g.oh = y.size() == 3 ? 1 : y[2];
  g.ow = y.back();
  g.kh = win.kh;
  g.kw = win.kw;
  g.sh = win.sh;
  g.sw = win.sw;
  g.dh = win.dh;
  g.dw = win.dw;
  g.ph = win.ph;
  g.pw = win.pw;
  g.groups = groups;
  g.k = g.c / groups * g.kh * g.kw;
  g.k_pad = round_up_k(g.k);
  return "";
}

}  // namespace frugal::kernels::cuda

namespace frugal::kernels::cuda {

std::string index_fault_message(const std::string& node, int64_t index, int64_t dim) {
  return node + ": index " + std::to_string(index) + " is out of range for an axis of size " +
         std::to_string(dim) + " (run-time indices, checked on the GPU)";
}

}  // namespace frugal::kernels::cuda
