#include "frugal/measure/nvml_meter.h"

#include <dlfcn.h>

#include <cstdio>
#include <type_traits>

#include "frugal/core/error.h"
#include "frugal/measure/clock.h"

namespace frugal::measure {
namespace {

// From NVIDIA's NVML API reference: nvmlReturn_t is an enum where 0 is NVML_SUCCESS and
// 3 is NVML_ERROR_NOT_SUPPORTED; nvmlDevice_t is an opaque pointer.
using nvmlReturn_t = int;
constexpr nvmlReturn_t kNvmlSuccess = 0;
constexpr nvmlReturn_t kNvmlErrorNotSupported = 3;
struct nvmlDevice_st;
using nvmlDevice_t = nvmlDevice_st*;

std::string fmt_seconds(double s) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.3f", s);
  return buf;
}

}  // namespace

struct NvmlMeter::Api {
  void* handle = nullptr;
  bool initialised = false;
  nvmlDevice_t device = nullptr;
  nvmlReturn_t (*init_v2)() = nullptr;
  nvmlReturn_t (*shutdown)() = nullptr;
  const char* (*error_string)(nvmlReturn_t) = nullptr;
  nvmlReturn_t (*get_handle_by_index_v2)(unsigned, nvmlDevice_t*) = nullptr;
  // Millijoules since the driver was last reloaded.
  nvmlReturn_t (*get_total_energy_consumption)(nvmlDevice_t, unsigned long long*) = nullptr;
  // Milliwatts.
  nvmlReturn_t (*get_power_usage)(nvmlDevice_t, unsigned*) = nullptr;

  std::string describe(nvmlReturn_t rc) const {
    const char* s = error_string ? error_string(rc) : nullptr;
    return s ? std::string(s) : "NVML error " + std::to_string(rc);
  }
  ~Api() {
    if (initialised && shutdown) shutdown();
    if (handle) dlclose(handle);
  }
};

NvmlMeter::NvmlMeter(NvmlOptions options)
    : options_(std::move(options)), api_(std::make_unique<Api>()) {
  const std::string& lib = options_.library;
  api_->handle = dlopen(lib.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!api_->handle) {
    const char* why = dlerror();
    throw UserError("nvml: cannot load " + lib + ": " + (why ? why : "unknown reason") +
                    " (no NVIDIA driver on this machine; choose another --power source)");
  }
  auto bind = [&](auto& fn, const char* name) {
    fn = reinterpret_cast<std::remove_reference_t<decltype(fn)>>(dlsym(api_->handle, name));
    if (!fn) throw UserError("nvml: " + lib + " has no symbol " + name + " (driver too old?)");
  };
  bind(api_->init_v2, "nvmlInit_v2");
  bind(api_->shutdown, "nvmlShutdown");
  bind(api_->error_string, "nvmlErrorString");
  bind(api_->get_handle_by_index_v2, "nvmlDeviceGetHandleByIndex_v2");
  bind(api_->get_total_energy_consumption, "nvmlDeviceGetTotalEnergyConsumption");
  bind(api_->get_power_usage, "nvmlDeviceGetPowerUsage");
  nvmlReturn_t rc = api_->init_v2();
  if (rc != kNvmlSuccess) throw UserError("nvml: nvmlInit_v2 failed: " + api_->describe(rc));
  api_->initialised = true;
  rc = api_->get_handle_by_index_v2(options_.device, &api_->device);
  if (rc != kNvmlSuccess)
    throw UserError("nvml: cannot open GPU " + std::to_string(options_.device) + ": " +
                    api_->describe(rc));
  unsigned long long mj = 0;
  rc = api_->get_total_energy_consumption(api_->device, &mj);
  if (rc == kNvmlSuccess) {
    has_energy_counter_ = true;
  } else if (rc != kNvmlErrorNotSupported) {
    throw UserError("nvml: reading the energy counter of GPU " + std::to_string(options_.device) +
                    " failed: " + api_->describe(rc));
  } else {
    unsigned mw = 0;
    rc = api_->get_power_usage(api_->device, &mw);
    if (rc != kNvmlSuccess)
      throw UserError("nvml: GPU " + std::to_string(options_.device) +
                      " reports neither energy nor power: " + api_->describe(rc));
  }
}

NvmlMeter::~NvmlMeter() {
  stopping_ = true;
  if (sampler_.joinable()) sampler_.join();
}

std::string NvmlMeter::source() const {
  return "nvml:" + std::to_string(options_.device);
}

uint64_t NvmlMeter::read_energy_mj() const {
  unsigned long long mj = 0;
  const nvmlReturn_t rc = api_->get_total_energy_consumption(api_->device, &mj);
  if (rc != kNvmlSuccess)
    throw UserError("nvml: reading the energy counter failed: " + api_->describe(rc));
  return mj;
}

double NvmlMeter::read_power_w() const {
  unsigned mw = 0;
  const nvmlReturn_t rc = api_->get_power_usage(api_->device, &mw);
  if (rc != kNvmlSuccess) throw UserError("nvml: reading power failed: " + api_->describe(rc));
  return mw * 1e-3;
}

uint64_t NvmlMeter::wait_for_counter_step(uint64_t value, double& when) const {
  const double limit = now_seconds() + options_.max_extension_s;
  for (;;) {
    const uint64_t v = read_energy_mj();
    when = now_seconds();
    if (v != value || when >= limit) return v;
    sleep_seconds(0.001);
  }
}

void NvmlMeter::start() {
  if (running_) throw InternalError("NvmlMeter::start: already started");
  running_ = true;
  start_note_.clear();
  if (has_energy_counter_) {
    // Align the window's start with a counter step, so that the energy counted covers
    // exactly the time between two steps.
    window_start_s_ = now_seconds();
    const uint64_t first = read_energy_mj();
    start_mj_ = wait_for_counter_step(first, start_s_);
    if (start_mj_ == first) start_note_ = "energy counter did not advance before the start; ";
    return;
  }
  power_samples_.clear();
  sample_error_.clear();
  stopping_ = false;
  start_s_ = now_seconds();
  sampler_ = std::thread([this] { sample_loop(); });
}

void NvmlMeter::sample_loop() {
  try {
    for (;;) {
      power_samples_.emplace_back(now_seconds(), read_power_w());
      // At least two samples, so that even a very short window integrates to non-zero.
      if (stopping_ && power_samples_.size() >= 2) break;
      sleep_seconds(options_.sample_period_s);
    }
  } catch (const std::exception& e) {
    sample_error_ = e.what();
  }
}

Reading NvmlMeter::stop() {
  if (!running_) throw InternalError("NvmlMeter::stop: not started");
  running_ = false;
  const double asked_end = now_seconds();
  Reading r;
  r.source = source();
  r.kind = EnergyKind::kMeasured;
  if (has_energy_counter_) {
    // Wait for the counter's next step after the window; the window is extended to it
    // rather than reported as the (possibly zero) partial count.
    double end_s = asked_end;
    const uint64_t at_stop = read_energy_mj();
    const uint64_t end_mj = wait_for_counter_step(at_stop, end_s);
    r.joules = static_cast<double>(end_mj - start_mj_) * 1e-3;
    r.duration_s = end_s - start_s_;
    r.samples = 2;
    r.period_s = r.duration_s;
    r.note = start_note_ + "total-energy counter; window of " +
             fmt_seconds(asked_end - window_start_s_) + " s measured between counter steps over " +
             fmt_seconds(r.duration_s) + " s";
    if (end_mj == at_stop) r.note += "; counter did not advance after the stop";
  } else {
    stopping_ = true;
    if (sampler_.joinable()) sampler_.join();
    if (!sample_error_.empty()) throw UserError(sample_error_);
    const auto& s = power_samples_;
    for (size_t i = 1; i < s.size(); ++i)
      r.joules += 0.5 * (s[i].second + s[i - 1].second) * (s[i].first - s[i - 1].first);
    r.samples = static_cast<int64_t>(s.size());
    r.duration_s = s.size() >= 2 ? s.back().first - s.front().first : 0;
    r.period_s = s.size() >= 2 ? r.duration_s / static_cast<double>(s.size() - 1) : 0;
    r.note = "power sampled (no energy counter on this GPU)";
    if (s.size() >= 2 && s.back().first > asked_end + 1e-3)
      r.note += "; window extended to " + fmt_seconds(r.duration_s) + " s to take two samples";
  }
  r.mean_watts = r.duration_s > 0 ? r.joules / r.duration_s : 0;
  return r;
}

}  // namespace frugal::measure
