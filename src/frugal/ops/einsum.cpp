// Einsum (opset 12): numpy-style Einstein summation over any number of operands.
// Equation terms hold letters (a-z, A-Z) and at most one "..." standing for leading
// dimensions that broadcast across operands. Without "->" the output is "..." followed
// by the letters that appear exactly once, in ASCII order. A letter repeated in one term
// reads a diagonal. The reference kernel visits every combination of label values
// (output labels, then summed labels) and accumulates the product of the operands:
// simple, general, and as slow as that sounds for large contractions.
#include <algorithm>
#include <array>
#include <map>
#include <string>
#include <vector>

#include "frugal/ops/elementwise.h"

namespace frugal::ops {
namespace {

using namespace elementwise;

// Labels are letters 0..51; ellipsis dimensions are labels 52, 53, ... (leftmost first).
constexpr int kEllipsisBase = 52;
constexpr int kMaxLabels = 52 + 16;

struct Term {
  std::vector<int> labels;  // one per dimension, ellipsis expanded once rank is known
  bool has_ellipsis = false;
  size_t ellipsis_at = 0;  // position of "..." among the letters
};

struct Plan {
  std::vector<Term> inputs;
  Term output;
  int ellipsis_rank = 0;
  std::array<int64_t, kMaxLabels> size{};  // size of each label
  std::vector<int> out_labels, sum_labels;
};

[[noreturn]] void bad(const ir::Node& node, const std::string& why) {
  throw UserError(node.describe() + ": equation '" + node.attr_string("equation", "") +
                  "': " + why);
}

char label_name(int l) {
  return static_cast<char>(l < 26 ? 'a' + l : 'A' + (l - 26));
}

int letter_label(char c) {
  if (c >= 'a' && c <= 'z') return c - 'a';
  if (c >= 'A' && c <= 'Z') return 26 + (c - 'A');
  return -1;
}

Term parse_term(const ir::Node& node, const std::string& s) {
  Term t;
  for (size_t i = 0; i < s.size();) {
    if (s.compare(i, 3, "...") == 0) {
      if (t.has_ellipsis) bad(node, "a term has two ellipses");
      t.has_ellipsis = true;
      t.ellipsis_at = t.labels.size();
      i += 3;
      continue;
    }
    const int l = letter_label(s[i]);
    if (l < 0) bad(node, std::string("unexpected character '") + s[i] + "'");
    t.labels.push_back(l);
    ++i;
  }
  return t;
}

// Expands a term's ellipsis into `n` ellipsis labels, the last `n` of ellipsis_rank.
void expand_ellipsis(Term& t, int n, int ellipsis_rank) {
  if (!t.has_ellipsis) return;
  std::vector<int> e;
  for (int i = ellipsis_rank - n; i < ellipsis_rank; ++i) e.push_back(kEllipsisBase + i);
  t.labels.insert(t.labels.begin() + static_cast<std::ptrdiff_t>(t.ellipsis_at), e.begin(),
                  e.end());
}

Plan make_plan(const ir::Node& node, const std::vector<Shape>& shapes) {
  std::string eq;
  for (char c : node.attr_string("equation", ""))
    if (c != ' ') eq += c;
  const size_t arrow = eq.find("->");
  const std::string lhs = eq.substr(0, arrow);
  Plan p;
  for (size_t start = 0;;) {
    const size_t comma = lhs.find(',', start);
    p.inputs.push_back(parse_term(node, lhs.substr(start, comma - start)));
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  if (p.inputs.size() != shapes.size())
    bad(node, std::to_string(p.inputs.size()) + " terms for " + std::to_string(shapes.size()) +
                  " inputs");
  // Ellipsis ranks, and the broadcast rank of "...".
  std::vector<int> ell(shapes.size(), 0);
  for (size_t i = 0; i < shapes.size(); ++i) {
    const int letters = static_cast<int>(p.inputs[i].labels.size());
    const int rank = static_cast<int>(shapes[i].size());
    if (p.inputs[i].has_ellipsis ? rank < letters : rank != letters)
      bad(node,
          "term " + std::to_string(i) + " does not match input shape " + shape_str(shapes[i]));
    ell[i] = rank - letters;
    p.ellipsis_rank = std::max(p.ellipsis_rank, ell[i]);
  }
  if (p.ellipsis_rank > kMaxLabels - kEllipsisBase) bad(node, "too many ellipsis dimensions");
  for (size_t i = 0; i < shapes.size(); ++i) expand_ellipsis(p.inputs[i], ell[i], p.ellipsis_rank);
  // Label sizes: letters must agree; ellipsis dimensions broadcast (1 stretches).
  std::array<bool, kMaxLabels> seen{};
  std::array<int, kMaxLabels> count{};
  p.size.fill(1);
  for (size_t i = 0; i < shapes.size(); ++i)
    for (size_t d = 0; d < shapes[i].size(); ++d) {
      const int l = p.inputs[i].labels[d];
      const int64_t n = shapes[i][d];
      ++count[l];
      if (l >= kEllipsisBase) {
        if (n != 1 && p.size[l] != 1 && p.size[l] != n)
          bad(node, "ellipsis dimensions do not broadcast");
        if (n != 1) p.size[l] = n;
      } else {
        if (seen[l] && p.size[l] != n)
          bad(node, std::string("label '") + label_name(l) + "' has sizes " +
                        std::to_string(p.size[l]) + " and " + std::to_string(n));
        p.size[l] = n;
      }
      seen[l] = true;
    }
  if (arrow != std::string::npos) {
    p.output = parse_term(node, eq.substr(arrow + 2));
    // An output without "..." sums the ellipsis dimensions away.
    expand_ellipsis(p.output, p.ellipsis_rank, p.ellipsis_rank);
    std::array<bool, kMaxLabels> in_out{};
    for (int l : p.output.labels) {
      if (!seen[l]) bad(node, "an output label does not appear in any input");
      if (in_out[l]) bad(node, "an output label appears twice");
      in_out[l] = true;
    }
  } else {
    for (int i = 0; i < p.ellipsis_rank; ++i) p.output.labels.push_back(kEllipsisBase + i);
    // ASCII order: uppercase letters (labels 26..51) before lowercase (0..25).
    for (int l = 26; l < 52; ++l)
      if (count[l] == 1) p.output.labels.push_back(l);
    for (int l = 0; l < 26; ++l)
      if (count[l] == 1) p.output.labels.push_back(l);
  }
  p.out_labels = p.output.labels;
  for (int l = 0; l < kMaxLabels; ++l)
    if (seen[l] && std::find(p.out_labels.begin(), p.out_labels.end(), l) == p.out_labels.end())
      p.sum_labels.push_back(l);
  return p;
}

Shape output_shape(const Plan& p) {
  Shape s;
  for (int l : p.out_labels) s.push_back(p.size[l]);
  return s;
}

void infer_einsum(InferContext& ctx) {
  if (ctx.num_inputs() == 0) ctx.fail("needs at least one input");
  std::vector<Shape> shapes;
  for (size_t i = 0; i < ctx.num_inputs(); ++i) {
    require_types(ctx, i, kNumericTypes);
    ctx.require_same_dtype(0, i);
    shapes.push_back(ctx.shape(i));
  }
  ctx.set_output(0, ctx.dtype(0), output_shape(make_plan(ctx.node(), shapes)));
}

template <typename T>
void einsum_kernel(KernelContext& ctx) {
  std::vector<Shape> shapes;
  for (size_t i = 0; i < ctx.num_inputs(); ++i) shapes.push_back(ctx.input(i).shape());
  const Plan p = make_plan(ctx.node(), shapes);
  // All labels in loop order (output first, summed last) and, per operand, its stride for
  // each of them (repeated labels add up; broadcast size-1 dimensions step 0).
  std::vector<int> loop = p.out_labels;
  loop.insert(loop.end(), p.sum_labels.begin(), p.sum_labels.end());
  const size_t k = shapes.size(), depth = loop.size();
  std::vector<std::vector<int64_t>> stride(k, std::vector<int64_t>(depth, 0));
  for (size_t i = 0; i < k; ++i) {
    int64_t s = 1;
    for (size_t d = shapes[i].size(); d-- > 0;) {
      const int l = p.inputs[i].labels[d];
      const size_t pos = static_cast<size_t>(std::find(loop.begin(), loop.end(), l) - loop.begin());
      if (shapes[i][d] != 1 || p.size[l] == 1) stride[i][pos] += s;
      s *= shapes[i][d];
    }
  }
  std::vector<const T*> in(k);
  for (size_t i = 0; i < k; ++i) in[i] = ctx.input(i).data<T>();
  Tensor& y = ctx.output(0);
  T* out = y.data<T>();
  using Acc = std::conditional_t<std::is_floating_point_v<T>, double, T>;
  int64_t total = 1;
  for (int l : loop) total *= p.size[l];
  int64_t summed = 1;
  for (int l : p.sum_labels) summed *= p.size[l];
  if (y.numel() == 0) return;
  if (summed == 0) {
    std::fill(out, out + y.numel(), T(0));
    return;
  }
  std::vector<int64_t> idx(depth, 0), off(k, 0);
  Acc acc = Acc(0);
  for (int64_t it = 0; it < total; ++it) {
    Acc prod = Acc(1);
    for (size_t i = 0; i < k; ++i) prod = wrap_mul(prod, static_cast<Acc>(in[i][off[i]]));
    acc = wrap_add(acc, prod);
    if ((it + 1) % summed == 0) {
      out[it / summed] = static_cast<T>(acc);
      acc = Acc(0);
    }
    for (size_t d = depth; d-- > 0;) {
      const int64_t n = p.size[loop[d]];
      for (size_t i = 0; i < k; ++i) off[i] += stride[i][d];
      if (++idx[d] < n) break;
      for (size_t i = 0; i < k; ++i) off[i] -= stride[i][d] * n;
      idx[d] = 0;
    }
  }
}

void ref_einsum(KernelContext& ctx) {
  visit_types<kNumericTypes>(ctx.input(0).dtype(),
                             [&](auto tag) { einsum_kernel<decltype(tag)>(ctx); });
}

// One multiply-add for every combination of label values.
Work cost_einsum(const CostContext& c) {
  const Plan p = make_plan(c.node, c.in);
  Work w;
  w.macs = 1;
  for (int l : p.out_labels) w.macs *= p.size[l];
  for (int l : p.sum_labels) w.macs *= p.size[l];
  return w;
}

}  // namespace

FRUGAL_REGISTER_OP(Einsum, OpDef{.op_type = "Einsum",
                                 .min_inputs = 1,
                                 .max_inputs = -1,
                                 .infer = infer_einsum,
                                 .ref = ref_einsum,
                                 .cost = cost_einsum});

}  // namespace frugal::ops
