#include "frugal/ops/conv_geometry.h"

#include <algorithm>
#include <string>

#include "frugal/core/error.h"

namespace frugal::ops {
namespace {

[[noreturn]] void fail(const ir::Node& node, const std::string& why) {
  throw UserError(node.describe() + ": " + why);
}

std::string ints_str(const std::vector<int64_t>& v) {
  std::string s = "[";
  for (size_t i = 0; i < v.size(); ++i) s += (i ? "," : "") + std::to_string(v[i]);
  return s + "]";
}

// Sizes, strides, dilations and pads beyond this are rejected, so that window arithmetic
// on hostile attribute values cannot overflow int64.
constexpr int64_t kMaxWindowValue = int64_t{1} << 31;

// A per-dimension attribute of `n` values, each >= min_value; `dflt` when absent.
std::vector<int64_t> per_dim_attr(const ir::Node& node, const std::string& name, size_t n,
                                  int64_t dflt, int64_t min_value) {
  if (!node.has_attr(name)) return std::vector<int64_t>(n, dflt);
  std::vector<int64_t> v = node.attr_ints(name);
  if (v.size() != n)
    fail(node, name + " " + ints_str(v) + " has " + std::to_string(v.size()) +
                   " values, expected " + std::to_string(n) + " (one per spatial dimension)");
  for (int64_t x : v)
    if (x < min_value || x > kMaxWindowValue)
      fail(node, name + " " + ints_str(v) + " must be in [" + std::to_string(min_value) + ", " +
                     std::to_string(kMaxWindowValue) + "]");
  return v;
}

// Explicit begin/end pads: [x1_begin, x2_begin, ..., x1_end, x2_end].
void read_pads(const ir::Node& node, WindowGeometry& g) {
  size_t n = g.rank();
  g.pad_begin.assign(n, 0);
  g.pad_end.assign(n, 0);
  if (!node.has_attr("pads")) return;
  std::vector<int64_t> p = node.attr_ints("pads");
  if (p.size() != 2 * n)
    fail(node, "pads " + ints_str(p) + " has " + std::to_string(p.size()) + " values, expected " +
                   std::to_string(2 * n));
  for (int64_t x : p)
    if (x < 0 || x > kMaxWindowValue)
      fail(node,
           "pads " + ints_str(p) + " must be in [0, " + std::to_string(kMaxWindowValue) + "]");
  for (size_t d = 0; d < n; ++d) {
    g.pad_begin[d] = p[d];
    g.pad_end[d] = p[d + n];
  }
}

std::string auto_pad_of(const ir::Node& node) {
  std::string a = node.attr_string("auto_pad", "NOTSET");
  if (a.empty()) a = "NOTSET";
  if (a != "NOTSET" && a != "SAME_UPPER" && a != "SAME_LOWER" && a != "VALID")
    fail(node, "auto_pad '" + a + "' is not one of NOTSET, SAME_UPPER, SAME_LOWER, VALID");
  return a;
}

void common_attrs(const ir::Node& node, const std::vector<int64_t>& in_spatial,
                  const std::vector<int64_t>& kernel, WindowGeometry& g) {
  size_t n = in_spatial.size();
  if (n == 0) fail(node, "input has no spatial dimensions");
  if (kernel.size() != n)
    fail(node, "kernel " + ints_str(kernel) + " does not have one size per spatial dimension (" +
                   std::to_string(n) + ")");
  for (int64_t k : kernel)
    if (k <= 0 || k > kMaxWindowValue)
      fail(node, "kernel shape " + ints_str(kernel) + " must be in [1, " +
                     std::to_string(kMaxWindowValue) + "]");
  g.in = in_spatial;
  g.kernel = kernel;
  g.strides = per_dim_attr(node, "strides", n, 1, 1);
  g.dilations = per_dim_attr(node, "dilations", n, 1, 1);
}

int64_t product(const std::vector<int64_t>& v) {
  int64_t p = 1;
  for (int64_t x : v) p *= x;
  return p;
}

}  // namespace

int64_t WindowGeometry::in_numel() const {
  return product(in);
}
int64_t WindowGeometry::out_numel() const {
  return product(out);
}
int64_t WindowGeometry::kernel_numel() const {
  return product(kernel);
}

WindowGeometry sliding_window(const ir::Node& node, const std::vector<int64_t>& in_spatial,
                              const std::vector<int64_t>& kernel, bool ceil_mode) {
  WindowGeometry g;
  common_attrs(node, in_spatial, kernel, g);
  const std::string auto_pad = auto_pad_of(node);
  const size_t n = g.rank();
  g.out.assign(n, 0);
  if (auto_pad == "NOTSET") {
    read_pads(node, g);
  } else {
    g.pad_begin.assign(n, 0);
    g.pad_end.assign(n, 0);
  }
  for (size_t d = 0; d < n; ++d) {
    const int64_t in = g.in[d], s = g.strides[d], eff = g.effective_kernel(d);
    if (auto_pad == "SAME_UPPER" || auto_pad == "SAME_LOWER") {
      // Output covers ceil(in / stride) windows; the padding that needs is split evenly,
      // the odd element going to the end (UPPER) or the beginning (LOWER).
      g.out[d] = (in + s - 1) / s;
      int64_t total = std::max<int64_t>(0, (g.out[d] - 1) * s + eff - in);
      int64_t small = total / 2;
      g.pad_begin[d] = auto_pad == "SAME_UPPER" ? small : total - small;
      g.pad_end[d] = total - g.pad_begin[d];
      continue;
    }
    const int64_t span = in + g.pad_begin[d] + g.pad_end[d] - eff;
    if (span < 0)
      fail(node, "kernel " + ints_str(g.kernel) + " (dilations " + ints_str(g.dilations) +
                     ") is larger than the padded input along spatial dimension " +
                     std::to_string(d) + " (size " + std::to_string(in) + ", pads " +
                     std::to_string(g.pad_begin[d]) + "+" + std::to_string(g.pad_end[d]) + ")");
    if (ceil_mode && auto_pad == "NOTSET") {
      g.out[d] = (span + s - 1) / s + 1;
      // A last window that would start inside the end padding is not counted.
      if ((g.out[d] - 1) * s >= in + g.pad_begin[d]) --g.out[d];
    } else {
      g.out[d] = span / s + 1;
    }
  }
  return g;
}

WindowGeometry transposed_window(const ir::Node& node, const std::vector<int64_t>& in_spatial,
                                 const std::vector<int64_t>& kernel) {
  WindowGeometry g;
  common_attrs(node, in_spatial, kernel, g);
  const std::string auto_pad = auto_pad_of(node);
  const size_t n = g.rank();
  std::vector<int64_t> out_pad = per_dim_attr(node, "output_padding", n, 0, 0);
  g.out.assign(n, 0);
  g.pad_begin.assign(n, 0);
  g.pad_end.assign(n, 0);

  std::vector<int64_t> target;  // requested output size, when the pads are derived from it
  if (node.has_attr("output_shape")) {
    target = node.attr_ints("output_shape");
    // Some exporters give the full N, C, D1... shape: keep the spatial part.
    if (target.size() == n + 2) target.erase(target.begin(), target.begin() + 2);
    if (target.size() != n)
      fail(node, "output_shape " + ints_str(node.attr_ints("output_shape")) +
                     " does not have one size per spatial dimension (" + std::to_string(n) + ")");
    for (int64_t x : target)
      if (x < 0 || x > (int64_t{1} << 40))
        fail(node, "output_shape " + ints_str(target) + " has a negative or implausible size");
  } else if (auto_pad == "SAME_UPPER" || auto_pad == "SAME_LOWER") {
    target.resize(n);
    for (size_t d = 0; d < n; ++d) target[d] = g.in[d] * g.strides[d];
  } else if (auto_pad == "NOTSET") {
    read_pads(node, g);
  }

  for (size_t d = 0; d < n; ++d) {
    const int64_t full = g.strides[d] * (g.in[d] - 1) + out_pad[d] + g.effective_kernel(d);
    if (!target.empty()) {
      const int64_t total = full - target[d];
      const int64_t half = total / 2;
      if (total < 0) {
        // A requested output larger than the full result extends it at the end, where
        // the extra positions receive only the bias (as output_padding would; ONNX
        // Runtime and PyTorch agree).
        g.pad_begin[d] = 0;
        g.pad_end[d] = total;
      } else if (auto_pad == "SAME_UPPER") {
        g.pad_begin[d] = half;
        g.pad_end[d] = total - half;
      } else {
        g.pad_begin[d] = total - half;
        g.pad_end[d] = half;
      }
      g.out[d] = target[d];
    } else {
      g.out[d] = full - g.pad_begin[d] - g.pad_end[d];
      if (g.out[d] < 0)
        fail(node, "pads " + std::to_string(g.pad_begin[d]) + "+" + std::to_string(g.pad_end[d]) +
                       " exceed the output size " + std::to_string(full) +
                       " along spatial dimension " + std::to_string(d));
    }
  }
  return g;
}

WindowGeometry as_3d(const ir::Node& node, const WindowGeometry& g) {
  if (g.rank() > 3)
    throw UnsupportedError(node.describe() + ": " + std::to_string(g.rank()) +
                           " spatial dimensions (at most 3 are supported)");
  WindowGeometry r;
  const size_t lead = 3 - g.rank();
  auto widen = [&](const std::vector<int64_t>& v, int64_t fill) {
    std::vector<int64_t> w(lead, fill);
    w.insert(w.end(), v.begin(), v.end());
    return w;
  };
  r.in = widen(g.in, 1);
  r.kernel = widen(g.kernel, 1);
  r.strides = widen(g.strides, 1);
  r.dilations = widen(g.dilations, 1);
  r.pad_begin = widen(g.pad_begin, 0);
  r.pad_end = widen(g.pad_end, 0);
  r.out = widen(g.out, 1);
  return r;
}

}  // namespace frugal::ops
