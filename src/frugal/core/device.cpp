#include "frugal/core/device.h"

#include <unistd.h>
#include <cstdlib>
#include <cstring>

#include "frugal/core/error.h"
#include "frugal/core/host_memory.h"
#include "frugal/core/tensor.h"

namespace frugal {

const char* device_kind_name(DeviceKind k) {
  switch (k) {
    case DeviceKind::kHost:
      return "host";
    case DeviceKind::kHostCores:
      return "host-cores";
    case DeviceKind::kModel:
      return "model";
    case DeviceKind::kCuda:
      return "cuda";
  }
  return "?";
}

Device::Device(DeviceKind kind, int index, std::string name, size_t capacity,
               std::vector<int> cores)
    : kind_(kind),
      index_(index),
      name_(std::move(name)),
      capacity_(capacity),
      cores_(std::move(cores)) {}

std::shared_ptr<void> Device::allocate(size_t bytes) const {
  if (bytes == 0) return nullptr;
  if (bytes > max_tensor_bytes() || (capacity_ && bytes > capacity_))
    throw UserError(name_ + ": cannot hold " + std::to_string(bytes) + " bytes");
  void* p = allocate_host(bytes, kTensorAlignment);
  if (!p) throw UserError(name_ + ": cannot allocate " + std::to_string(bytes) + " bytes");
  return std::shared_ptr<void>(p, [](void* q) { std::free(q); });
}

void Device::copy_from_host(void* device_dst, const void* host_src, size_t bytes) const {
  std::memcpy(device_dst, host_src, bytes);
}

void Device::copy_to_host(void* host_dst, const void* device_src, size_t bytes) const {
  std::memcpy(host_dst, device_src, bytes);
}

namespace {

size_t physical_memory() {
  const long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGE_SIZE);
  return pages > 0 && page > 0 ? static_cast<size_t>(pages) * static_cast<size_t>(page) : 0;
}

class HostDevice final : public Device {
 public:
  HostDevice(DeviceKind kind, std::string name, std::vector<int> cores)
      : Device(kind, 0, std::move(name), physical_memory(), std::move(cores)) {}
};

}  // namespace

const Device& host_device() {
  static const HostDevice host(DeviceKind::kHost, "host", {});
  return host;
}

std::shared_ptr<const Device> host_cores_device(std::vector<int> cores) {
  if (cores.empty()) throw UserError("host-cores device: no core given");
  std::string name = "host:cores=";
  for (size_t i = 0; i < cores.size(); ++i) {
    if (cores[i] < 0)
      throw UserError("host-cores device: core " + std::to_string(cores[i]) + " < 0");
    name += (i ? "," : "") + std::to_string(cores[i]);
  }
  return std::make_shared<HostDevice>(DeviceKind::kHostCores, name, std::move(cores));
}

bool needs_copy(const Device& from, const Device& to) {
  if (&from == &to) return false;
  return !(from.shares_host_memory() && to.shares_host_memory());
}

}  // namespace frugal
