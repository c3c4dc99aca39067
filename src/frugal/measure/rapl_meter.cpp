#include "frugal/measure/rapl_meter.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <filesystem>

#include "frugal/core/error.h"
#include "frugal/measure/clock.h"

namespace frugal::measure {
namespace fs = std::filesystem;
namespace {

// Reads a small sysfs file whole; throws UserError naming the file and the reason.
std::string read_small_file(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    const int err = errno;
    std::string why = std::strerror(err);
    const bool is_counter = path.size() >= 9 && path.compare(path.size() - 9, 9, "energy_uj") == 0;
    if ((err == EACCES || err == EPERM) && is_counter)
      why +=
          " (since Linux 5.10 energy_uj is readable by root only: run as root, grant read "
          "access with chmod a+r, or choose another --power source)";
    throw UserError("rapl: cannot read " + path + ": " + why);
  }
  char buf[128];
  ssize_t n;
  do {
    n = ::read(fd, buf, sizeof(buf) - 1);
  } while (n < 0 && errno == EINTR);
  const int err = errno;
  ::close(fd);
  if (n < 0) throw UserError("rapl: cannot read " + path + ": " + std::strerror(err));
  return std::string(buf, static_cast<size_t>(n));
}

uint64_t parse_u64(const std::string& text, const std::string& path) {
  const char* b = text.data();
  const char* e = b + text.size();
  while (e > b && (e[-1] == '\n' || e[-1] == ' ')) --e;
  uint64_t v = 0;
  auto [p, ec] = std::from_chars(b, e, v);
  if (ec != std::errc() || p != e || b == e)
    throw UserError("rapl: " + path + " does not hold an unsigned integer");
  return v;
}

std::string trim_newline(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

}  // namespace

uint64_t read_rapl_counter(const std::string& path) {
  return parse_u64(read_small_file(path), path);
}

uint64_t rapl_delta_uj(uint64_t before, uint64_t after, uint64_t max_range_uj) {
  if (after >= before) return after - before;
  // The counter passed max_range_uj and restarted from zero once.
  return (max_range_uj >= before ? max_range_uj - before : 0) + after;
}

std::vector<RaplDomain> discover_rapl_domains(const std::string& root) {
  std::error_code ec;
  if (!fs::is_directory(root, ec))
    throw UserError("rapl: " + root +
                    " does not exist: no powercap driver (usual in virtual machines and "
                    "containers)");
  std::vector<RaplDomain> msr, mmio;
  for (const auto& entry : fs::directory_iterator(root, ec)) {
    const std::string zone = entry.path().filename().string();
    const bool is_msr = zone.rfind("intel-rapl:", 0) == 0;
    const bool is_mmio = zone.rfind("intel-rapl-mmio:", 0) == 0;
    if (!is_msr && !is_mmio) continue;
    const std::string dir = entry.path().string();
    if (!fs::exists(dir + "/name")) continue;
    const std::string name = trim_newline(read_small_file(dir + "/name"));
    if (name.rfind("package", 0) != 0 && name != "dram") continue;
    RaplDomain d;
    d.zone = zone;
    d.name = name;
    d.energy_path = dir + "/energy_uj";
    d.max_energy_range_uj =
        parse_u64(read_small_file(dir + "/max_energy_range_uj"), dir + "/max_energy_range_uj");
    (is_msr ? msr : mmio).push_back(d);
  }
  if (ec) throw UserError("rapl: cannot list " + root + ": " + ec.message());
  const bool msr_has_package = std::any_of(
      msr.begin(), msr.end(), [](const RaplDomain& d) { return d.name.rfind("package", 0) == 0; });
  std::vector<RaplDomain> out = msr;
  for (const auto& d : mmio)
    if (!(msr_has_package && d.name.rfind("package", 0) == 0)) out.push_back(d);
  if (out.empty())
    throw UserError("rapl: no package or dram domain under " + root +
                    " (the powercap driver exposes no RAPL zone on this machine)");
  std::sort(out.begin(), out.end(),
            [](const RaplDomain& a, const RaplDomain& b) { return a.zone < b.zone; });
  return out;
}

RaplMeter::RaplMeter(RaplOptions options) : options_(std::move(options)) {
  if (options_.poll_period_s < 0) throw UserError("rapl: poll period must not be negative");
  domains_ = discover_rapl_domains(options_.root);
  last_uj_.resize(domains_.size());
  accumulated_uj_.assign(domains_.size(), 0);
  for (size_t i = 0; i < domains_.size(); ++i)
    last_uj_[i] = read_rapl_counter(domains_[i].energy_path);
}

RaplMeter::~RaplMeter() {
  if (running_) {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stopping_ = true;
    }
    wake_.notify_all();
    if (poller_.joinable()) poller_.join();
  }
}

void RaplMeter::poll_once() {
  for (size_t i = 0; i < domains_.size(); ++i) {
    const uint64_t now_uj = read_rapl_counter(domains_[i].energy_path);
    accumulated_uj_[i] += rapl_delta_uj(last_uj_[i], now_uj, domains_[i].max_energy_range_uj);
    last_uj_[i] = now_uj;
  }
  ++reads_;
}

void RaplMeter::poll_loop() {
  std::unique_lock<std::mutex> lock(mutex_);
  const auto period = std::chrono::duration<double>(options_.poll_period_s);
  while (!stopping_) {
    wake_.wait_for(lock, period, [this] { return stopping_; });
    if (stopping_) break;
    try {
      poll_once();
    } catch (...) {
      error_ = std::current_exception();
      break;
    }
  }
}

void RaplMeter::start() {
  if (running_) throw InternalError("RaplMeter::start: already started");
  std::fill(accumulated_uj_.begin(), accumulated_uj_.end(), 0);
  error_ = nullptr;
  stopping_ = false;
  reads_ = 0;
  for (size_t i = 0; i < domains_.size(); ++i)
    last_uj_[i] = read_rapl_counter(domains_[i].energy_path);
  reads_ = 1;
  start_s_ = now_seconds();
  running_ = true;
  if (options_.poll_period_s > 0) poller_ = std::thread([this] { poll_loop(); });
}

Reading RaplMeter::stop() {
  if (!running_) throw InternalError("RaplMeter::stop: not started");
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (poller_.joinable()) poller_.join();
  running_ = false;
  if (error_) std::rethrow_exception(error_);
  poll_once();
  const double duration = now_seconds() - start_s_;
  Reading r;
  r.source = source();
  r.kind = EnergyKind::kMeasured;
  uint64_t total_uj = 0;
  std::string domains;
  for (size_t i = 0; i < domains_.size(); ++i) {
    total_uj += accumulated_uj_[i];
    domains += (domains.empty() ? "" : ", ") + domains_[i].zone + " " + domains_[i].name;
  }
  r.joules = static_cast<double>(total_uj) * 1e-6;
  r.duration_s = duration;
  r.mean_watts = duration > 0 ? r.joules / duration : 0;
  r.samples = reads_;
  r.period_s = reads_ > 1 ? duration / static_cast<double>(reads_ - 1) : duration;
  r.note = "sum of " + domains;
  return r;
}

}  // namespace frugal::measure
