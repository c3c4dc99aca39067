#include "frugal/train/prune_schedule.h"

#include <algorithm>
#include <cmath>
#include <sstream>

#include "frugal/core/error.h"

namespace frugal::train {
namespace {

const char* const kOptionKeys[] = {"schedule=", "start=", "end=", "every=", "initial="};

double parse_number(const std::string& text, const std::string& what) {
  size_t used = 0;
  double v = 0;
  try {
    v = std::stod(text, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (text.empty() || used != text.size() || !std::isfinite(v))
    throw UserError("--prune: " + what + "='" + text + "' is not a number");
  return v;
}

}  // namespace

PruneScheduleSpec PruneScheduleSpec::parse(const std::string& text) {
  // The options begin at the first ':' followed by one of the option keys.
  size_t cut = std::string::npos;
  for (size_t i = 0; i < text.size() && cut == std::string::npos; ++i)
    if (text[i] == ':')
      for (const char* k : kOptionKeys)
        if (text.compare(i + 1, std::char_traits<char>::length(k), k) == 0) cut = i;
  PruneScheduleSpec s;
  s.target = compress::PruneSpec::parse(text.substr(0, cut), "--prune");
  if (s.target.structured())
    throw UserError("--prune " + text +
                    ": channel pruning is graph surgery, not a mask: run frugal compress "
                    "--prune channels:... first, then train the smaller model");
  if (cut == std::string::npos) return s;
  std::stringstream in(text.substr(cut + 1));
  std::string item;
  while (std::getline(in, item, ',')) {
    const size_t eq = item.find('=');
    const std::string key = item.substr(0, eq),
                      value = eq == std::string::npos ? "" : item.substr(eq + 1);
    if (key == "schedule") {
      if (value != "cubic" && value != "oneshot")
        throw UserError("--prune: schedule='" + value + "' is not cubic or oneshot");
      s.cubic = value == "cubic";
    } else if (key == "start") {
      s.start = parse_number(value, key);
    } else if (key == "end") {
      s.end = parse_number(value, key);
    } else if (key == "every") {
      const double v = parse_number(value, key);
      if (v < 1 || v != std::floor(v))
        throw UserError("--prune: every=" + value + " must be a whole number of iterations >= 1");
      s.every = static_cast<int64_t>(v);
    } else if (key == "initial") {
      s.initial = parse_number(value, key);
      if (s.initial < 0 || s.initial >= 1)
        throw UserError("--prune: initial=" + value + " is outside [0, 1)");
    } else {
      throw UserError(
          "--prune: unknown option '" + item +
          "' (schedule=cubic|oneshot, start=EPOCH, end=EPOCH, every=ITERATIONS, initial=S)");
    }
  }
  if (s.start < 0) throw UserError("--prune: start=" + std::to_string(s.start) + " is negative");
  return s;
}

PruneSchedule::PruneSchedule(const std::string& spec, const std::string& exclude,
                             const ir::Graph& model, const std::vector<std::string>& params,
                             int64_t iters_per_epoch, int64_t epochs)
    : spec_(PruneScheduleSpec::parse(spec)) {
  if (!exclude.empty()) spec_.target.add_excludes(exclude);
  layers_ = compress::prunable_layers(model);
  if (layers_.empty()) throw UserError("--prune: the model has no prunable layer");
  for (const auto& l : layers_)
    if (std::find(params.begin(), params.end(), l.weight) == params.end())
      throw UserError("--prune: weight '" + l.weight + "' of layer '" + l.name +
                      "' is not trained (frozen), so it cannot be pruned while training");
  compress::resolve_targets(layers_, spec_.target);  // names and excludes checked now
  double end = spec_.end;
  if (end < 0) end = spec_.cubic ? static_cast<double>(epochs) : spec_.start;
  if (end < spec_.start)
    throw UserError("--prune: end=" + std::to_string(end) +
                    " is before start=" + std::to_string(spec_.start));
  if (end > static_cast<double>(epochs) || spec_.start >= static_cast<double>(epochs))
    throw UserError("--prune: the schedule (start=" + std::to_string(spec_.start) +
                    ", end=" + std::to_string(end) + ") does not fit in the " +
                    std::to_string(epochs) + " epoch(s) of training");
  const double iters = static_cast<double>(iters_per_epoch);
  start_step_ = static_cast<int64_t>(std::llround(spec_.start * iters));
  // The last update happens at step end_step_, which must exist: at most the last step.
  end_step_ = std::min<int64_t>(static_cast<int64_t>(std::llround(end * iters)),
                                iters_per_epoch * epochs - 1);
  end_step_ = std::max(end_step_, start_step_);
  spec_.end = end;
}

double PruneSchedule::sparsity_at(int64_t step, double final_sparsity) const {
  if (!spec_.cubic) return final_sparsity;
  if (step >= end_step_) return final_sparsity;
  const double span = static_cast<double>(end_step_ - start_step_);
  const double frac =
      span > 0 ? std::clamp(static_cast<double>(step - start_step_) / span, 0.0, 1.0) : 1.0;
  const double r = 1.0 - frac;
  return final_sparsity + (spec_.initial - final_sparsity) * r * r * r;
}

bool PruneSchedule::is_update_step(int64_t step) const {
  if (step < start_step_ || step > end_step_) return false;
  return step == end_step_ || (step - start_step_) % spec_.every == 0;
}

void PruneSchedule::after_step(int64_t step, const WeightFn& weight, StateMap* state) {
  // keep: the masks are the model's zeros before the first step (set by resume()).
  if (is_update_step(step) && spec_.target.kind != compress::PruneSpec::Kind::kKeep) {
    std::vector<const Tensor*> ws;
    for (const auto& l : layers_) ws.push_back(&weight(l.weight));
    masks_ = compress::compute_masks(layers_, ws, spec_.target,
                                     [&](double s) { return sparsity_at(step, s); });
  }
  apply(weight, state);
}

void PruneSchedule::resume(int64_t steps_done, const WeightFn& weight) {
  masks_.clear();
  const bool keep = spec_.target.kind == compress::PruneSpec::Kind::kKeep;
  if (steps_done <= start_step_ && !keep) return;  // the first update is still to come
  // Masks as they were after the last step: the non-zeros of the layers being pruned.
  std::vector<const Tensor*> ws;
  for (const auto& l : layers_) ws.push_back(&weight(l.weight));
  const std::vector<double> targets = compress::resolve_targets(layers_, spec_.target);
  masks_.resize(layers_.size());
  for (size_t i = 0; i < layers_.size(); ++i) {
    if (targets[i] < 0) continue;
    if (spec_.target.kind == compress::PruneSpec::Kind::kNM &&
        layers_[i].in_channels % spec_.target.m != 0)
      continue;  // left dense by N:M
    const auto w = ws[i]->span<float>();
    masks_[i].resize(w.size());
    for (size_t j = 0; j < w.size(); ++j) masks_[i][j] = w[j] != 0.0f;
  }
}

void PruneSchedule::apply(const WeightFn& weight, StateMap* state) {
  for (size_t i = 0; i < masks_.size() && i < layers_.size(); ++i) {
    std::vector<uint8_t>& m = masks_[i];
    if (m.empty()) continue;
    Tensor& w = weight(layers_[i].weight);
    float* d = w.data<float>();
    FRUGAL_CHECK(static_cast<int64_t>(m.size()) == w.numel(), "mask size");
    std::vector<Tensor>* st = nullptr;
    if (state) {
      auto it = state->find(layers_[i].weight);
      if (it != state->end()) st = &it->second;
    }
    for (size_t j = 0; j < m.size(); ++j) {
      if (!m[j]) {
        d[j] = 0.0f;
        if (st)
          for (Tensor& s : *st)
            if (s.dtype() == DType::kF32 && s.numel() == w.numel()) s.data<float>()[j] = 0.0f;
      }
      // The mask from now on is the set of non-zeros (what a resumed run reconstructs).
      m[j] = d[j] != 0.0f;
    }
  }
}

double PruneSchedule::current_sparsity() const {
  int64_t n = 0, z = 0;
  for (const auto& m : masks_) {
    n += static_cast<int64_t>(m.size());
    for (uint8_t v : m) z += v == 0;
  }
  return n ? static_cast<double>(z) / static_cast<double>(n) : 0.0;
}

std::string PruneSchedule::describe() const {
  std::ostringstream o;
  o << spec_.target.str() << ", " << (spec_.cubic ? "cubic" : "one-shot") << " from step "
    << start_step_;
  if (spec_.cubic) o << " to " << end_step_ << " every " << spec_.every;
  o << "; masks kept through every optimizer step";
  return o.str();
}

}  // namespace frugal::train
