#include "frugal/ops/recurrent.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstring>

#include "frugal/core/error.h"

namespace frugal::ops::recurrent {
namespace {

using Kind = Activation::Kind;

struct KindInfo {
  const char* name;  // lower case
  Kind kind;
  bool uses_alpha, uses_beta;
  float alpha, beta;  // defaults, as the standalone ONNX operators' where they exist
};
constexpr KindInfo kKinds[] = {
    {"sigmoid", Kind::kSigmoid, false, false, 0, 0},
    {"tanh", Kind::kTanh, false, false, 0, 0},
    {"relu", Kind::kRelu, false, false, 0, 0},
    {"affine", Kind::kAffine, true, true, 1.0f, 0.0f},
    {"leakyrelu", Kind::kLeakyRelu, true, false, 0.01f, 0},
    {"thresholdedrelu", Kind::kThresholdedRelu, true, false, 1.0f, 0},
    {"scaledtanh", Kind::kScaledTanh, true, true, 1.0f, 1.0f},
    {"hardsigmoid", Kind::kHardSigmoid, true, true, 0.2f, 0.5f},
    {"elu", Kind::kElu, true, false, 1.0f, 0},
    {"softsign", Kind::kSoftsign, false, false, 0, 0},
    {"softplus", Kind::kSoftplus, false, false, 0, 0},
};

std::string lower(std::string s) {
  for (char& ch : s) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  return s;
}

std::vector<std::string> default_activation_names(Cell cell) {
  switch (cell) {
    case Cell::kRnn:
      return {"Tanh"};
    case Cell::kGru:
      return {"Sigmoid", "Tanh"};
    case Cell::kLstm:
      return {"Sigmoid", "Tanh", "Tanh"};
  }
  return {};
}

// Names the activations of every direction; alpha and beta are consumed in order by the
// functions that take them (as ONNX Runtime reads activation_alpha / activation_beta).
std::vector<Activation> parse_activations(const ir::Node& node, const Attrs& a) {
  const int64_t per_dir = a.activations_per_direction();
  std::vector<std::string> names = node.has_attr("activations") ? node.attr_strings("activations")
                                                                : default_activation_names(a.cell);
  const auto count = static_cast<int64_t>(names.size());
  if (count == per_dir && a.num_directions == 2) {
    const std::vector<std::string> one = names;  // one list for both directions
    names.insert(names.end(), one.begin(), one.end());
  } else if (count != per_dir * a.num_directions) {
    throw UserError(node.describe() + ": activations lists " + std::to_string(count) +
                    " functions, expected " + std::to_string(per_dir * a.num_directions));
  }
  const std::vector<float> alphas = node.attr_floats("activation_alpha");
  const std::vector<float> betas = node.attr_floats("activation_beta");
  size_t next_alpha = 0, next_beta = 0;
  std::vector<Activation> out;
  for (const std::string& name : names) {
    const std::string key = lower(name);
    const auto* info = std::find_if(std::begin(kKinds), std::end(kKinds),
                                    [&](const KindInfo& k) { return key == k.name; });
    if (info == std::end(kKinds))
      throw UserError(node.describe() + ": activation '" + name +
                      "' is not one ONNX allows in recurrent cells");
    Activation f{info->kind, info->alpha, info->beta, name};
    if (info->uses_alpha && next_alpha < alphas.size()) f.alpha = alphas[next_alpha++];
    if (info->uses_beta && next_beta < betas.size()) f.beta = betas[next_beta++];
    out.push_back(f);
  }
  return out;
}

Direction parse_direction(const ir::Node& node) {
  const std::string d = node.attr_string("direction", "forward");
  if (d == "forward") return Direction::kForward;
  if (d == "reverse") return Direction::kReverse;
  if (d == "bidirectional") return Direction::kBidirectional;
  throw UserError(node.describe() + ": direction '" + d +
                  "' is not forward, reverse or bidirectional");
}

void check_shape(const InferContext& ctx, size_t i, const char* what, const Shape& want) {
  if (ctx.shape(i) != want)
    ctx.fail(std::string(what) + " has shape " + shape_str(ctx.shape(i)) + ", expected " +
             shape_str(want));
}

Shape state_shape(const Attrs& a, const Dims& d) {
  return a.layout == 0 ? Shape{d.dirs, d.batch, d.hidden} : Shape{d.batch, d.dirs, d.hidden};
}

// Flat offsets of rows in X, Y and the state tensors, for either layout.
struct Offsets {
  const Attrs& a;
  const Dims& d;
  int64_t x(int64_t t, int64_t b) const {
    return (a.layout == 0 ? t * d.batch + b : b * d.seq + t) * d.input;
  }
  int64_t y(int64_t t, int64_t dir, int64_t b) const {
    return (a.layout == 0 ? (t * d.dirs + dir) * d.batch + b : (b * d.seq + t) * d.dirs + dir) *
           d.hidden;
  }
  int64_t state(int64_t dir, int64_t b) const {
    return (a.layout == 0 ? dir * d.batch + b : b * d.dirs + dir) * d.hidden;
  }
};

std::vector<double> input_or(const KernelContext& ctx, size_t i, size_t zeros) {
  if (ctx.has_input(i) && ctx.input(i).numel() > 0) return ctx.input(i).to_double();
  return std::vector<double>(zeros, 0.0);
}

void store(KernelContext& ctx, size_t i, const std::vector<double>& values) {
  if (!ctx.has_output(i)) return;
  Tensor& out = ctx.output(i);
  const Tensor t = Tensor::from_vector<double>(out.shape(), values).cast(out.dtype());
  if (t.nbytes()) std::memcpy(out.raw(), t.raw(), t.nbytes());
}

}  // namespace

double Activation::apply(double x) const {
  switch (kind) {
    case Kind::kSigmoid:
      return 1.0 / (1.0 + std::exp(-x));
    case Kind::kTanh:
      return std::tanh(x);
    case Kind::kRelu:
      return std::max(0.0, x);
    case Kind::kAffine:
      return alpha * x + beta;
    case Kind::kLeakyRelu:
      return x >= 0 ? x : alpha * x;
    case Kind::kThresholdedRelu:
      return x >= alpha ? x : 0.0;
    case Kind::kScaledTanh:
      return alpha * std::tanh(beta * x);
    case Kind::kHardSigmoid:
      return std::clamp(alpha * x + beta, 0.0, 1.0);
    case Kind::kElu:
      return x >= 0 ? x : alpha * (std::exp(x) - 1.0);
    case Kind::kSoftsign:
      return x / (1.0 + std::abs(x));
    case Kind::kSoftplus:
      return std::log1p(std::exp(x));
  }
  return x;
}

int64_t Attrs::gates() const {
  return cell == Cell::kRnn ? 1 : cell == Cell::kGru ? 3 : 4;
}
int64_t Attrs::activations_per_direction() const {
  return cell == Cell::kRnn ? 1 : cell == Cell::kGru ? 2 : 3;
}
bool Attrs::default_activations() const {
  const std::vector<std::string> names = default_activation_names(cell);
  for (size_t i = 0; i < activations.size(); ++i)
    if (lower(activations[i].name) != lower(names[i % names.size()])) return false;
  return true;
}

Attrs parse_attrs(const ir::Node& node, Cell cell) {
  Attrs a;
  a.cell = cell;
  a.direction = parse_direction(node);
  a.num_directions = a.direction == Direction::kBidirectional ? 2 : 1;
  a.hidden_size = node.attr_int("hidden_size", 0);
  if (node.has_attr("clip")) {
    a.clip = node.attr_float("clip", 0.0f);
    if (!(*a.clip > 0.0f)) throw UserError(node.describe() + ": clip must be positive");
  }
  a.layout = node.attr_int("layout", 0);
  if (a.layout != 0 && a.layout != 1)
    throw UserError(node.describe() + ": layout " + std::to_string(a.layout) + " is not 0 or 1");
  a.input_forget = node.attr_int("input_forget", 0) != 0;
  a.linear_before_reset = node.attr_int("linear_before_reset", 0) != 0;
  a.activations = parse_activations(node, a);
  return a;
}

Dims dims_of(const Attrs& a, const Shape& x) {
  Dims d;
  d.seq = a.layout == 0 ? x[0] : x[1];
  d.batch = a.layout == 0 ? x[1] : x[0];
  d.input = x[2];
  d.hidden = a.hidden_size;
  d.dirs = a.num_directions;
  return d;
}

void infer(InferContext& ctx, Cell cell) {
  ctx.require_dtype(kX, {DType::kF32, DType::kF64});
  for (size_t i : {kW, kR, kB, kInitialH, kInitialC, kP})
    if (ctx.has_input(i)) ctx.require_same_dtype(kX, i);
  if (ctx.has_input(kSeqLens)) ctx.require_dtype(kSeqLens, {DType::kI32});
  Attrs a = parse_attrs(ctx.node(), cell);
  if (ctx.rank(kX) != 3) ctx.fail("X has shape " + shape_str(ctx.shape(kX)) + ", expected rank 3");
  if (ctx.rank(kR) != 3) ctx.fail("R has shape " + shape_str(ctx.shape(kR)) + ", expected rank 3");
  const int64_t hidden = ctx.shape(kR)[2];
  if (a.hidden_size != 0 && a.hidden_size != hidden)
    ctx.fail("hidden_size " + std::to_string(a.hidden_size) + " differs from R's shape " +
             shape_str(ctx.shape(kR)));
  a.hidden_size = hidden;
  const Dims d = dims_of(a, ctx.shape(kX));
  const int64_t gh = a.gates() * d.hidden;
  check_shape(ctx, kW, "W", {d.dirs, gh, d.input});
  check_shape(ctx, kR, "R", {d.dirs, gh, d.hidden});
  if (ctx.has_input(kB)) check_shape(ctx, kB, "B", {d.dirs, 2 * gh});
  if (ctx.has_input(kSeqLens)) check_shape(ctx, kSeqLens, "sequence_lens", {d.batch});
  if (ctx.has_input(kInitialH)) check_shape(ctx, kInitialH, "initial_h", state_shape(a, d));
  if (cell == Cell::kLstm && ctx.has_input(kInitialC))
    check_shape(ctx, kInitialC, "initial_c", state_shape(a, d));
  if (cell == Cell::kLstm && ctx.has_input(kP)) check_shape(ctx, kP, "P", {d.dirs, 3 * d.hidden});
  const DType t = ctx.dtype(kX);
  ctx.set_output(0, t,
                 a.layout == 0 ? Shape{d.seq, d.dirs, d.batch, d.hidden}
                               : Shape{d.batch, d.seq, d.dirs, d.hidden});
  for (size_t i = 1; i < ctx.num_outputs(); ++i) ctx.set_output(i, t, state_shape(a, d));
}

// MACs of the input and recurrent products; flops of the biases, activations and the
// gate arithmetic (about three per gate element: an estimate of the elementwise work).
Work cost(const CostContext& c, Cell cell) {
  Attrs a = parse_attrs(c.node, cell);
  a.hidden_size = c.in[kR][2];
  const Dims d = dims_of(a, c.in[kX]);
  const int64_t rows = d.dirs * d.seq * d.batch * a.gates() * d.hidden;
  Work w;
  w.macs = rows * (d.input + d.hidden);
  w.flops = rows * 3;
  return w;
}

void add_matvec(const double* m, int64_t cols, int64_t first_row, int64_t rows, const double* v,
                double* out) {
  for (int64_t k = 0; k < rows; ++k) {
    const double* row = m + (first_row + k) * cols;
    double acc = 0;
    for (int64_t j = 0; j < cols; ++j) acc += row[j] * v[j];
    out[k] += acc;
  }
}

std::vector<double> gate_inputs(const CellWeights& wt, int64_t first_gate, int64_t count,
                                const double* x, const double* h) {
  const int64_t first = first_gate * wt.hidden, rows = count * wt.hidden;
  std::vector<double> g(static_cast<size_t>(rows));
  for (int64_t k = 0; k < rows; ++k) g[k] = wt.wb[first + k] + wt.rb[first + k];
  add_matvec(wt.w, wt.input, first, rows, x, g.data());
  add_matvec(wt.r, wt.hidden, first, rows, h, g.data());
  return g;
}

double activate(const Attrs& a, const Activation& f, double x) {
  if (a.clip) x = std::clamp(x, -double(*a.clip), double(*a.clip));
  return f.apply(x);
}

void run_reference(KernelContext& ctx, Cell cell, const StepFn& step) {
  Attrs a = parse_attrs(ctx.node(), cell);
  a.hidden_size = ctx.input(kR).dim(2);
  const Dims d = dims_of(a, ctx.input(kX).shape());
  const Offsets at{a, d};
  const int64_t gh = a.gates() * d.hidden;
  const size_t state_size = static_cast<size_t>(d.dirs * d.batch * d.hidden);
  const std::vector<double> x = ctx.input(kX).to_double();
  const std::vector<double> w = ctx.input(kW).to_double();
  const std::vector<double> r = ctx.input(kR).to_double();
  const std::vector<double> bias = input_or(ctx, kB, static_cast<size_t>(d.dirs * 2 * gh));
  const std::vector<double> h0 = input_or(ctx, kInitialH, state_size);
  const std::vector<double> c0 = input_or(ctx, kInitialC, state_size);
  const bool has_p = cell == Cell::kLstm && ctx.has_input(kP) && ctx.input(kP).numel() > 0;
  const std::vector<double> p = has_p ? ctx.input(kP).to_double() : std::vector<double>{};
  std::vector<int64_t> lens(static_cast<size_t>(d.batch), d.seq);
  if (ctx.has_input(kSeqLens) && ctx.input(kSeqLens).numel() > 0)
    lens = ctx.input(kSeqLens).to_int64();
  for (int64_t len : lens)
    if (len < 0 || len > d.seq)
      ctx.fail("sequence_lens holds " + std::to_string(len) + ", outside [0, " +
               std::to_string(d.seq) + "]");

  std::vector<double> y(static_cast<size_t>(d.seq * d.dirs * d.batch * d.hidden), 0.0);
  std::vector<double> yh(state_size), yc(state_size);
  std::vector<double> h(d.hidden), c(d.hidden), h_next(d.hidden), c_next(d.hidden);
  for (int64_t dir = 0; dir < d.dirs; ++dir) {
    const bool reverse = a.direction == Direction::kReverse || dir == 1;
    const CellWeights wt{w.data() + dir * gh * d.input,
                         r.data() + dir * gh * d.hidden,
                         bias.data() + dir * 2 * gh,
                         bias.data() + dir * 2 * gh + gh,
                         has_p ? p.data() + dir * 3 * d.hidden : nullptr,
                         d.input,
                         d.hidden};
    for (int64_t b = 0; b < d.batch; ++b) {
      const int64_t s0 = at.state(dir, b), len = lens[b];
      std::copy_n(h0.begin() + s0, d.hidden, h.begin());
      std::copy_n(c0.begin() + s0, d.hidden, c.begin());
      for (int64_t s = 0; s < len; ++s) {
        const int64_t t = reverse ? len - 1 - s : s;
        step(a, dir, wt, x.data() + at.x(t, b), h.data(), c.data(), h_next.data(), c_next.data());
        h.swap(h_next);
        c.swap(c_next);
        std::copy(h.begin(), h.end(), y.begin() + at.y(t, dir, b));
      }
      std::copy(h.begin(), h.end(), yh.begin() + s0);
      std::copy(c.begin(), c.end(), yc.begin() + s0);
    }
  }
  store(ctx, 0, y);
  store(ctx, 1, yh);
  store(ctx, 2, yc);
}

}  // namespace frugal::ops::recurrent
