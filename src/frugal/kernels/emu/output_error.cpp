#include "frugal/kernels/emu/output_error.h"

#include <cmath>
#include <limits>

#include "frugal/core/error.h"

namespace frugal::kernels::emu {

void OutputErrorMeter::add(const Tensor& reference, const Tensor& test) {
  if (reference.shape() != test.shape())
    throw UserError("output error: reference " + shape_str(reference.shape()) + " and output " +
                    shape_str(test.shape()) + " differ in shape");
  if (!dtype_is_float(reference.dtype()) || !dtype_is_float(test.dtype()))
    throw UserError("output error: needs float outputs");
  const std::vector<double> r = reference.to_double(), t = test.to_double();
  const double inf = std::numeric_limits<double>::infinity();
  for (size_t i = 0; i < r.size(); ++i) {
    double d = std::fabs(t[i] - r[i]);
    if (std::isnan(d)) d = inf;
    e_.signal_energy += r[i] * r[i];
    e_.noise_energy += d * d;
    e_.max_abs_error = std::max(e_.max_abs_error, d);
    if (r[i] != 0) e_.max_rel_error = std::max(e_.max_rel_error, d / std::fabs(r[i]));
  }
  e_.elements += static_cast<int64_t>(r.size());
  const int64_t cols = reference.rank() > 0 ? reference.dim(-1) : 1;
  if (cols > 1) {
    for (size_t row = 0; row + static_cast<size_t>(cols) <= r.size(); row += cols) {
      size_t br = row, bt = row;
      for (size_t j = row; j < row + static_cast<size_t>(cols); ++j) {
        if (r[j] > r[br]) br = j;
        if (t[j] > t[bt]) bt = j;
      }
      e_.top1_agree += br == bt;
      ++e_.top1_rows;
    }
  }
}

OutputError OutputErrorMeter::result() const {
  OutputError e = e_;
  const double inf = std::numeric_limits<double>::infinity();
  if (e.noise_energy == 0) {
    e.sqnr_db = inf;
  } else if (e.signal_energy == 0) {
    e.sqnr_db = -inf;
  } else {
    e.sqnr_db = 10 * std::log10(e.signal_energy / e.noise_energy);
  }
  return e;
}

}  // namespace frugal::kernels::emu
