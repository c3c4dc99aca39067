#include "frugal/compress/tucker.h"

#include <Eigen/Core>
#include <algorithm>
#include <cmath>

namespace frugal::compress {
namespace {

using RowMajor = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

// A row-major [a, b, p] tensor; its mode-a unfolding is the a x (b * p) matrix as stored.
struct Tensor3 {
  int64_t a = 0, b = 0, p = 0;
  std::vector<double> v;

  // [a, b, p] -> [b, a, p]: the mode-b unfolding becomes the stored matrix.
  Tensor3 swapped() const {
    Tensor3 t{b, a, p, std::vector<double>(v.size())};
    for (int64_t i = 0; i < a; ++i)
      for (int64_t j = 0; j < b; ++j)
        std::copy_n(v.begin() + (i * b + j) * p, p, t.v.begin() + (j * a + i) * p);
    return t;
  }
  // Contracts mode b with the b x r matrix m: [a, b, p] -> [a, r, p].
  Tensor3 times(const std::vector<double>& m, int64_t r) const {
    Tensor3 t{a, r, p, std::vector<double>(static_cast<size_t>(a * r * p))};
    const Eigen::Map<const RowMajor> mm(m.data(), b, r);
    for (int64_t i = 0; i < a; ++i) {
      const Eigen::Map<const RowMajor> slice(v.data() + i * b * p, b, p);
      Eigen::Map<RowMajor>(t.v.data() + i * r * p, r, p) = mm.transpose() * slice;
    }
    return t;
  }
  double squared_norm() const {
    double s = 0;
    for (double x : v) s += x * x;
    return s;
  }
};

// The leading r left singular vectors of t's mode-a unfolding (a x r, row-major).
std::vector<double> leading_left(const Tensor3& t, int64_t r) {
  const ThinSvd svd = thin_svd(t.v, t.a, t.b * t.p);
  std::vector<double> u(static_cast<size_t>(t.a * r));
  for (int64_t i = 0; i < t.a; ++i) std::copy_n(svd.u.begin() + i * svd.k, r, u.begin() + i * r);
  return u;
}

// The core G = W x_O U_out^T x_C U_in^T as [rank_out, rank_in, positions].
void fill_core(Tucker2& t, const Tensor3& w) {
  const Tensor3 z = w.swapped().times(t.u_out, t.rank_out);  // [C, r_out, P]
  t.core = z.swapped().times(t.u_in, t.rank_in).v;           // [r_out, r_in, P]
}

// ||W - W~|| / ||W|| from the norms (orthonormal factors).
double relative_error(const Tucker2& t, double norm2) {
  double core2 = 0;
  for (double x : t.core) core2 += x * x;
  return norm2 > 0 ? std::sqrt(std::max(0.0, norm2 - core2) / norm2) : 0;
}

}  // namespace

Tucker2 tucker2(const std::vector<float>& weight, const Shape& shape, const LowRankSpec& spec) {
  Tucker2 t;
  t.out = shape.at(0);
  t.in = shape.at(1);
  t.positions = shape_numel(shape) / (t.out * t.in);
  const Tensor3 w{t.out, t.in, t.positions, std::vector<double>(weight.begin(), weight.end())};
  const Tensor3 wc = w.swapped();  // [C, O, P]
  const double norm2 = w.squared_norm();
  // HOSVD.
  const ThinSvd so = thin_svd(w.v, t.out, t.in * t.positions);
  const ThinSvd si = thin_svd(wc.v, t.in, t.out * t.positions);
  t.singular_out = so.singular;
  t.singular_in = si.singular;
  t.rank_out = spec.rank_for(so.singular);
  t.rank_in = spec.rank_for(si.singular);
  t.u_out = leading_left(w, t.rank_out);
  t.u_in = leading_left(wc, t.rank_in);
  fill_core(t, w);
  t.hosvd_rel_error = t.rel_error = relative_error(t, norm2);
  // HOOI: each factor from W projected on the other one.
  for (int it = 0; it < spec.hooi; ++it) {
    t.u_out = leading_left(w.times(t.u_in, t.rank_in), t.rank_out);
    t.u_in = leading_left(wc.times(t.u_out, t.rank_out), t.rank_in);
    fill_core(t, w);
    t.rel_error = relative_error(t, norm2);
  }
  return t;
}

std::vector<double> reconstruct(const Tucker2& t) {
  // G x_C U_in: [r_out, r_in, P] -> [r_out, C, P] (times() contracts with the transpose).
  std::vector<double> in_t(static_cast<size_t>(t.rank_in * t.in));
  for (int64_t c = 0; c < t.in; ++c)
    for (int64_t b = 0; b < t.rank_in; ++b)
      in_t[static_cast<size_t>(b * t.in + c)] = t.u_in[static_cast<size_t>(c * t.rank_in + b)];
  std::vector<double> out_t(static_cast<size_t>(t.rank_out * t.out));
  for (int64_t o = 0; o < t.out; ++o)
    for (int64_t a = 0; a < t.rank_out; ++a)
      out_t[static_cast<size_t>(a * t.out + o)] = t.u_out[static_cast<size_t>(o * t.rank_out + a)];
  const Tensor3 g{t.rank_out, t.rank_in, t.positions, t.core};
  const Tensor3 gc = g.times(in_t, t.in);               // [r_out, C, P]
  return gc.swapped().times(out_t, t.out).swapped().v;  // [O, C, P]
}

}  // namespace frugal::compress
