#include "frugal/pipeline/simulator.h"

#include <deque>
#include <queue>
#include <utility>

#include "frugal/core/error.h"

namespace frugal::pipeline {
namespace {

enum class StageState { kIdle, kRunning, kHolding };

// The simulation's state: queues of item ids, each stage's state and the time it entered
// it, each device's owner (the running stage, or -1) and loaded segment.
class Simulation {
 public:
  Simulation(const std::vector<SimDevice>& devices, const std::vector<SimStage>& stages,
             const SimOptions& options)
      : devices_(devices),
        stages_(stages),
        options_(options),
        queues_(stages.size()),
        state_(stages.size(), StageState::kIdle),
        item_(stages.size(), -1),
        since_(stages.size(), 0.0),
        owner_(devices.size(), -1),
        loaded_(devices.size(), -1),
        enter_(options.inferences, 0.0),
        exit_(options.inferences, 0.0) {
    result_.stages.resize(stages.size());
    for (size_t k = 0; k < stages.size(); ++k) result_.stages[k].name = stages[k].name;
    result_.devices.resize(devices.size());
    for (size_t d = 0; d < devices.size(); ++d) result_.devices[d].name = devices[d].name;
  }

  SimResult run() {
    progress(0);
    while (!events_.empty()) {
      const double t = events_.top().first;
      while (!events_.empty() && events_.top().first == t) {
        complete(events_.top().second, t);
        events_.pop();
      }
      progress(t);
    }
    return summarize();
  }

 private:
  using Event = std::pair<double, size_t>;  // (time, stage whose service ends)

  // Moves everything that can move at time t, downstream first so that space frees up.
  void progress(double t) {
    for (bool moved = true; moved;) {
      moved = false;
      for (size_t k = stages_.size(); k-- > 0;) moved |= pass_on(k, t);
      moved |= feed(t);
      for (size_t d = 0; d < devices_.size(); ++d) moved |= dispatch(d, t);
    }
  }

  bool pass_on(size_t k, double t) {
    if (state_[k] != StageState::kHolding) return false;
    if (k + 1 == stages_.size()) {
      exit_[item_[k]] = t;  // the sink pops at once
      ++popped_;
    } else {
      if (queues_[k + 1].size() >= options_.queue) return false;
      queues_[k + 1].push_back(item_[k]);
    }
    result_.stages[k].wait_output_s += t - since_[k];
    state_[k] = StageState::kIdle;
    since_[k] = t;
    return true;
  }

  bool feed(double t) {
    if (pushed_ >= options_.inferences || queues_[0].size() >= options_.queue) return false;
    if (options_.max_in_flight > 0 && pushed_ - popped_ >= options_.max_in_flight) return false;
    enter_[pushed_] = t;
    queues_[0].push_back(pushed_++);
    return true;
  }

  // Starts a waiting stage on a free device: the segment already loaded there if it has
  // work, else the one whose next item is oldest.
  bool dispatch(size_t d, double t) {
    if (owner_[d] >= 0) return false;
    int64_t pick = -1;
    for (size_t k = 0; k < stages_.size(); ++k) {
      if (stages_[k].device != d || state_[k] != StageState::kIdle || queues_[k].empty()) continue;
      if (static_cast<int64_t>(k) == loaded_[d]) {
        pick = static_cast<int64_t>(k);
        break;
      }
      if (pick < 0 || queues_[k].front() < queues_[pick].front()) pick = static_cast<int64_t>(k);
    }
    if (pick < 0) return false;
    start(static_cast<size_t>(pick), d, t);
    return true;
  }

  void start(size_t k, size_t d, double t) {
    SimStageResult& r = result_.stages[k];
    item_[k] = queues_[k].front();
    queues_[k].pop_front();
    r.wait_input_s += t - since_[k];
    // The first load of a device happens before the stream starts (model loading at
    // start-up); only a switch between segments costs time on the timeline.
    double load = 0;
    if (loaded_[d] >= 0 && loaded_[d] != static_cast<int64_t>(k)) {
      load = devices_[d].load_s;
      ++r.loads;
    }
    loaded_[d] = static_cast<int64_t>(k);
    const SimStage& s = stages_[k];
    const double busy = load + s.service_s();
    r.busy_s += busy;
    r.load_s += load;
    r.transfer_s += s.transfer_in_s + s.transfer_out_s;
    r.stream_s += s.stream_s;
    result_.devices[d].busy_s += busy;
    owner_[d] = static_cast<int64_t>(k);
    state_[k] = StageState::kRunning;
    since_[k] = t;
    events_.push({t + busy, k});
  }

  void complete(size_t k, double t) {
    owner_[stages_[k].device] = -1;
    ++result_.stages[k].items;
    state_[k] = StageState::kHolding;
    since_[k] = t;
  }

  SimResult summarize() {
    const int64_t n = options_.inferences, w = options_.warmup;
    result_.span_s = exit_[n - 1];
    const double steady = exit_[n - 1] - exit_[w];
    result_.throughput = static_cast<double>(n - 1 - w) / steady;
    for (int64_t i = w; i < n; ++i) result_.latencies_s.push_back(exit_[i] - enter_[i]);
    for (auto& s : result_.stages) s.utilization = s.busy_s / result_.span_s;
    for (size_t d = 0; d < devices_.size(); ++d) {
      SimDeviceResult& r = result_.devices[d];
      r.joules = devices_[d].active_w * r.busy_s + devices_[d].idle_w * (result_.span_s - r.busy_s);
      r.joules_per_inference = r.joules / static_cast<double>(n);
    }
    return std::move(result_);
  }

  const std::vector<SimDevice>& devices_;
  const std::vector<SimStage>& stages_;
  SimOptions options_;
  std::vector<std::deque<int64_t>> queues_;  // queues_[k] feeds stage k
  std::vector<StageState> state_;
  std::vector<int64_t> item_;
  std::vector<double> since_;
  std::vector<int64_t> owner_, loaded_;
  std::vector<double> enter_, exit_;
  int64_t pushed_ = 0, popped_ = 0;
  std::priority_queue<Event, std::vector<Event>, std::greater<>> events_;
  SimResult result_;
};

void check_input(const std::vector<SimDevice>& devices, const std::vector<SimStage>& stages,
                 const SimOptions& options) {
  if (stages.empty()) throw UserError("simulate: no stages");
  if (options.queue == 0) throw UserError("--queue: a queue must hold at least 1 item (got 0)");
  if (options.max_in_flight < 0) throw UserError("--in-flight: must be 0 (no limit) or more");
  if (options.warmup < 0 || options.inferences < options.warmup + 2)
    throw UserError("simulate: " + std::to_string(options.inferences) +
                    " inferences leave fewer than 2 after " + std::to_string(options.warmup) +
                    " of warm-up");
  double total = 0;
  for (const auto& s : stages) {
    if (s.device >= devices.size())
      throw UserError("simulate: " + s.name + " is placed on device " + std::to_string(s.device) +
                      ", there are " + std::to_string(devices.size()));
    if (s.service_s() < 0) throw UserError("simulate: " + s.name + " takes negative time");
    total += s.service_s();
  }
  if (total <= 0) throw UserError("simulate: every stage takes no time");
}

}  // namespace

SimResult simulate(const std::vector<SimDevice>& devices, const std::vector<SimStage>& stages,
                   const SimOptions& options) {
  check_input(devices, stages, options);
  return Simulation(devices, stages, options).run();
}

}  // namespace frugal::pipeline
