#include "frugal/train/precision.h"

#include <cmath>
#include <numbers>
#include <sstream>

#include "frugal/numeric/expansions.h"
#include "frugal/numeric/quantize.h"

namespace frugal::train {
namespace {

std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> out;
  std::stringstream ss(s);
  std::string item;
  while (std::getline(ss, item, sep)) out.push_back(item);
  return out;
}

uint64_t name_hash(const std::string& s) {
  uint64_t h = 1469598103934665603ull;  // FNV-1a
  for (unsigned char c : s) h = (h ^ c) * 1099511628211ull;
  return h;
}

}  // namespace

numeric::Rounding parse_rounding_name(const std::string& name, uint64_t seed) {
  if (name == "nearest") return numeric::Rounding::nearest_even();
  if (name == "stochastic") return numeric::Rounding::stochastic(seed);
  numeric::Rounding r = numeric::parse_rounding(name);
  if (r.mode == numeric::RoundingMode::kStochastic && name.find("seed=") == std::string::npos)
    r.seed = seed;
  return r;
}

void round_tensor(const ClassPrecision& p, const std::string& value, Tensor& t, uint64_t step,
                  uint64_t salt) {
  if (!p.format || t.dtype() != DType::kF32 || t.numel() == 0) return;
  numeric::Rounding r = p.rounding;
  if (r.mode == numeric::RoundingMode::kStochastic) r.seed = r.seed ^ name_hash(value) ^ salt;
  numeric::QuantizeOptions opt;
  opt.counter_offset = step << 32;
  opt.threads = 1;
  numeric::quantize(t.span<float>(), t.span<float>(), *p.format, r, opt);
}

std::map<std::string, ClassPrecision> parse_part_precisions(const std::string& format_spec,
                                                            const std::string& rounding_spec,
                                                            uint64_t seed,
                                                            const std::vector<std::string>& parts,
                                                            const std::string& format_option,
                                                            const std::string& rounding_option) {
  std::string names;
  for (const auto& p : parts) names += (names.empty() ? "" : ", ") + p;
  std::map<std::string, ClassPrecision> out;
  for (const auto& p : parts) out[p] = ClassPrecision{};
  auto item_of = [&](const std::string& option, const std::string& item, const char* example) {
    const size_t eq = item.find('=');
    if (eq == std::string::npos)
      throw UserError(option + ": '" + item + "' is not PART=" + example + " (parts: " + names +
                      ")");
    return std::make_pair(item.substr(0, eq), item.substr(eq + 1));
  };
  auto slot = [&](const std::string& option, const std::string& key) -> ClassPrecision& {
    auto it = out.find(key);
    if (it == out.end()) throw UserError(option + ": unknown part '" + key + "' (" + names + ")");
    return it->second;
  };
  if (!format_spec.empty())
    for (const std::string& item : split(format_spec, ',')) {
      const auto [key, value] = item_of(format_option, item, "FORMAT");
      ClassPrecision& c = slot(format_option, key);
      numeric::NumberFormat f;
      try {
        f = numeric::parse_format(value);
        numeric::validate(f);
      } catch (const UserError& e) {
        throw UserError(format_option + ": " + key + ": " + e.what());
      }
      if (f == numeric::NumberFormat{})
        c.format.reset();
      else
        c.format = f;
    }
  numeric::Rounding dflt = numeric::Rounding::nearest_even();
  std::vector<std::pair<std::string, numeric::Rounding>> per_part;
  if (!rounding_spec.empty())
    for (const std::string& item : split(rounding_spec, ',')) {
      const auto [key, value] = item_of(rounding_option, item, "MODE");
      numeric::Rounding r;
      try {
        r = parse_rounding_name(value, seed);
      } catch (const UserError& e) {
        throw UserError(rounding_option + ": " + key + ": " + e.what());
      }
      if (key == "default") {
        dflt = r;
      } else {
        slot(rounding_option, key);
        per_part.emplace_back(key, r);
      }
    }
  for (auto& [key, c] : out) c.rounding = dflt;
  for (const auto& [key, r] : per_part) out[key].rounding = r;
  return out;
}

PrecisionPolicy PrecisionPolicy::parse(const std::string& format_spec,
                                       const std::string& rounding_spec, uint64_t seed) {
  PrecisionPolicy p;
  p.seed_ = seed;
  auto slot = [&](const std::string& key, const std::string& option) -> ClassPrecision& {
    if (key == "W") return p.w_;
    if (key == "A") return p.a_;
    if (key == "E") return p.e_;
    if (key == "G") return p.g_;
    if (key == "M") return p.m_;
    throw UserError(option + ": unknown tensor class '" + key + "' (W, A, E, G, M, ACC)");
  };
  if (!format_spec.empty())
    for (const std::string& item : split(format_spec, ',')) {
      const size_t eq = item.find('=');
      if (eq == std::string::npos)
        throw UserError("--format: '" + item + "' is not CLASS=FORMAT (e.g. W=e4m3,E=e5m2)");
      const std::string key = item.substr(0, eq), value = item.substr(eq + 1);
      if (key == "ACC") {
        numeric::AccumulatorSpec a;
        try {
          a = numeric::parse_accumulator(value);
        } catch (const UserError& e) {
          throw UserError(std::string("--format: ACC: ") + e.what());
        }
        if (a.format == numeric::NumberFormat{} && a.chunk == 0 && !a.compensated) {
          p.acc_.reset();  // plain binary32: the sgemm path
        } else {
          p.acc_ = kernels::emu::Accumulator{};
          p.acc_->format = a.format;
          p.acc_->chunk = a.chunk;
          p.acc_->compensated = a.compensated;
        }
        continue;
      }
      ClassPrecision& c = slot(key, "--format");
      if (key == "M" && value == "W") {
        p.master_is_weight_ = true;
        continue;
      }
      numeric::NumberFormat f = numeric::parse_format(value);
      numeric::validate(f);
      if (f == numeric::NumberFormat{})
        c.format.reset();  // fp32: nothing to do
      else
        c.format = f;
    }
  numeric::Rounding dflt = numeric::Rounding::nearest_even();
  std::optional<numeric::Rounding> acc_rounding;
  std::vector<std::pair<std::string, numeric::Rounding>> per_class;
  if (!rounding_spec.empty())
    for (const std::string& item : split(rounding_spec, ',')) {
      const size_t eq = item.find('=');
      if (eq == std::string::npos)
        throw UserError("--rounding: '" + item +
                        "' is not CLASS=MODE (e.g. W=stochastic,default=nearest)");
      const std::string key = item.substr(0, eq);
      const numeric::Rounding r = parse_rounding_name(item.substr(eq + 1), seed);
      if (key == "default") {
        dflt = r;
      } else if (key == "ACC") {
        if (r.mode == numeric::RoundingMode::kStochastic)
          throw UserError("--rounding: ACC=" + item.substr(eq + 1) +
                          ": stochastic rounding of accumulators is not supported in training "
                          "(use a deterministic mode: nearest, rz, ru, rd...)");
        acc_rounding = r;
      } else {
        slot(key, "--rounding");
        per_class.emplace_back(key, r);
      }
    }
  for (ClassPrecision* c : {&p.w_, &p.a_, &p.e_, &p.g_, &p.m_}) c->rounding = dflt;
  for (const auto& [key, r] : per_class) slot(key, "--rounding").rounding = r;
  if (acc_rounding) {
    if (!p.acc_)
      throw UserError("--rounding: ACC is given a rounding but --format has no ACC=FORMAT");
    p.acc_->rounding = *acc_rounding;
    if (p.acc_->compensated && acc_rounding->mode != numeric::RoundingMode::kNearestEven)
      throw UserError("--rounding: ACC: compensated accumulation needs nearest rounding");
  }
  return p;
}

bool PrecisionPolicy::active() const {
  return w_.format || a_.format || e_.format || g_.format || m_.format || master_is_weight_;
}

const ClassPrecision& PrecisionPolicy::of(TensorClass c) const {
  switch (c) {
    case TensorClass::kWeight:
      return w_;
    case TensorClass::kActivation:
      return a_;
    case TensorClass::kError:
      return e_;
    case TensorClass::kGradient:
      return g_;
  }
  return w_;
}

void PrecisionPolicy::set_forward_format(const std::optional<numeric::NumberFormat>& f) {
  w_.format = f;
  a_.format = f;
}

void PrecisionPolicy::apply(TensorClass cls, const std::string& value, Tensor& t,
                            uint64_t step) const {
  round_tensor(of(cls), value, t, step, static_cast<uint64_t>(cls) * 0x9E3779B97F4A7C15ull);
}

void PrecisionPolicy::apply_master(const std::string& value, Tensor& t, uint64_t step) const {
  round_tensor(master_is_weight_ ? w_ : m_, value, t, step, 0x4D41535445520000ull);
}

std::string PrecisionPolicy::describe() const {
  auto one = [](const char* k, const ClassPrecision& c) {
    return std::string(k) + "=" + (c.format ? numeric::to_string(*c.format) : "fp32") +
           (c.format ? "/" + numeric::to_string(c.rounding) : "");
  };
  std::string acc = "ACC=fp32";
  if (acc_) {
    numeric::AccumulatorSpec a;
    a.format = acc_->format;
    a.chunk = acc_->chunk;
    a.compensated = acc_->compensated;
    acc = "ACC=" + numeric::to_string(a);
    if (!(acc_->rounding == numeric::Rounding::nearest_even()))
      acc += "/" + numeric::to_string(acc_->rounding);
  }
  return one("W", w_) + " " + one("A", a_) + " " + one("E", e_) + " " + one("G", g_) + " " +
         (master_is_weight_ ? std::string("M=W") : one("M", m_)) + " " + acc;
}

namespace {
[[noreturn]] void bad_precision_schedule(const std::string& spec, const std::string& why) {
  throw UserError("--precision-schedule: invalid schedule '" + spec + "': " + why +
                  " (grammar: EPOCH:FORMAT,... | cyclic:eXmA..eXmB[:cycles=N] | "
                  "adaptive:eXmA..eXmB[:patience=P])");
}

int64_t parse_count(const std::string& spec, const std::string& s) {
  size_t used = 0;
  long long v = -1;
  try {
    v = std::stoll(s, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used != s.size() || s.empty() || v < 0)
    bad_precision_schedule(spec, "'" + s + "' is not a whole number >= 0");
  return v;
}

numeric::NumberFormat parse_float_format(const std::string& spec, const std::string& s) {
  numeric::NumberFormat f;
  try {
    f = numeric::parse_format(s);
    numeric::validate(f);
  } catch (const UserError& e) {
    bad_precision_schedule(spec, "bad format '" + s + "'");
  }
  return f;
}
}  // namespace

PrecisionSchedule PrecisionSchedule::parse(const std::string& spec) {
  PrecisionSchedule s;
  s.spec_ = spec;
  if (spec.empty()) return s;
  const bool cyclic = spec.rfind("cyclic:", 0) == 0, adaptive = spec.rfind("adaptive:", 0) == 0;
  if (cyclic || adaptive) {
    s.kind_ = cyclic ? Kind::kCyclic : Kind::kAdaptive;
    std::vector<std::string> parts = split(spec.substr(cyclic ? 7 : 9), ':');
    if (parts.empty()) bad_precision_schedule(spec, "needs a range MIN..MAX");
    const size_t dots = parts[0].find("..");
    if (dots == std::string::npos)
      bad_precision_schedule(spec, "'" + parts[0] + "' is not MIN..MAX");
    s.lo_ = parse_float_format(spec, parts[0].substr(0, dots));
    s.hi_ = parse_float_format(spec, parts[0].substr(dots + 2));
    if (s.lo_.kind != numeric::FormatKind::kFloat || s.hi_.kind != numeric::FormatKind::kFloat ||
        s.lo_.exponent_bits != s.hi_.exponent_bits || s.lo_.mantissa_bits > s.hi_.mantissa_bits)
      bad_precision_schedule(spec,
                             "MIN and MAX must be float formats with the same exponent bits and "
                             "MIN's mantissa <= MAX's");
    for (size_t i = 1; i < parts.size(); ++i) {
      const size_t eq = parts[i].find('=');
      const std::string key = parts[i].substr(0, eq);
      if (eq == std::string::npos) bad_precision_schedule(spec, "'" + parts[i] + "' is not KEY=N");
      const int64_t v = parse_count(spec, parts[i].substr(eq + 1));
      if (cyclic && key == "cycles" && v >= 1)
        s.cycles_ = static_cast<int>(v);
      else if (adaptive && key == "patience" && v >= 1)
        s.patience_ = static_cast<int>(v);
      else
        bad_precision_schedule(spec, "unknown or out-of-range option '" + parts[i] + "'");
    }
    s.adaptive_bits_ = s.lo_.mantissa_bits;
    return s;
  }
  s.kind_ = Kind::kPiecewise;
  for (const std::string& item : split(spec, ',')) {
    const size_t colon = item.find(':');
    if (colon == std::string::npos)
      bad_precision_schedule(spec, "'" + item + "' is not EPOCH:FORMAT");
    const int64_t epoch = parse_count(spec, item.substr(0, colon));
    if (!s.pieces_.empty() && epoch <= s.pieces_.back().first)
      bad_precision_schedule(spec, "epochs must increase");
    s.pieces_.emplace_back(epoch, parse_float_format(spec, item.substr(colon + 1)));
  }
  if (s.pieces_.empty() || s.pieces_.front().first != 0)
    bad_precision_schedule(spec, "the first piece must start at epoch 0");
  return s;
}

numeric::NumberFormat PrecisionSchedule::format_at(double t, int64_t total_epochs) const {
  switch (kind_) {
    case Kind::kNone:
      return numeric::NumberFormat{};
    case Kind::kPiecewise: {
      // The epoch now running: t lies in [epoch, epoch + 1).
      const auto epoch = static_cast<int64_t>(std::floor(t));
      numeric::NumberFormat f = pieces_.front().second;
      for (const auto& [e, pf] : pieces_)
        if (epoch >= e) f = pf;
      return f;
    }
    case Kind::kCyclic: {
      const double period = static_cast<double>(std::max<int64_t>(total_epochs, 1)) / cycles_;
      const double phase = std::fmod(t, period) / period;  // 0 .. 1 within a cycle
      const double lo = lo_.mantissa_bits, hi = hi_.mantissa_bits;
      const double bits = lo + 0.5 * (hi - lo) * (1.0 - std::cos(std::numbers::pi * phase));
      numeric::NumberFormat f = lo_;
      f.mantissa_bits = static_cast<int>(std::lround(bits));
      return f;
    }
    case Kind::kAdaptive: {
      numeric::NumberFormat f = lo_;
      f.mantissa_bits = adaptive_bits_;
      return f;
    }
  }
  return numeric::NumberFormat{};
}

void PrecisionSchedule::end_epoch(double loss) {
  if (kind_ != Kind::kAdaptive) return;
  if (loss < best_loss_ * 0.99) {
    best_loss_ = loss;
    stalled_ = 0;
    return;
  }
  best_loss_ = std::min(best_loss_, loss);
  if (++stalled_ >= patience_ && adaptive_bits_ < hi_.mantissa_bits) {
    ++adaptive_bits_;
    stalled_ = 0;
  }
}

void FormatRange::add(const numeric::NumberFormat& f) {
  auto narrower = [](const numeric::NumberFormat& a, const numeric::NumberFormat& b) {
    return a.mantissa_bits != b.mantissa_bits ? a.mantissa_bits < b.mantissa_bits
                                              : a.exponent_bits < b.exponent_bits;
  };
  if (!lo_ || narrower(f, *lo_)) lo_ = f;
  if (!hi_ || narrower(*hi_, f)) hi_ = f;
}

std::string FormatRange::describe() const {
  if (!lo_) return "";
  const std::string lo = numeric::to_string(*lo_), hi = numeric::to_string(*hi_);
  return lo == hi ? lo : lo + ".." + hi;
}

}  // namespace frugal::train
