// Where data lives and kernels run. A Device has a kind, an index, a name, a memory
// capacity, an allocator and the copies to and from host memory; backends carry the device
// their kernels run on (kernels/backend.h) and the Session plans memory per device and
// inserts explicit copy steps where a value crosses from one memory to another
// (runtime/plan.h). The host CPU is a device; a set of its cores is a device too (for
// pipelining: same memory, its own threads); a modeled accelerator is a device that only
// the simulator runs; an accelerator backend brings its own (cuda).
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <vector>

namespace frugal {

enum class DeviceKind { kHost, kHostCores, kModel, kCuda };
const char* device_kind_name(DeviceKind k);

class Device {
 public:
  virtual ~Device() = default;
  DeviceKind kind() const { return kind_; }
  int index() const { return index_; }
  // "host", "host:cores=1", "cuda:0", ...
  const std::string& name() const { return name_; }
  // Bytes this device can hold (0: unknown).
  size_t memory_capacity() const { return capacity_; }
  // Host cores the device runs on (empty: any, the OS decides).
  const std::vector<int>& cores() const { return cores_; }
  // Whether host code can read and write its buffers directly: values passed between
  // devices that both share host memory need no copy.
  virtual bool shares_host_memory() const { return true; }
  // `bytes` of device memory aligned for tensors; freed when the last owner goes. Throws
  // UserError when the device cannot hold them.
  virtual std::shared_ptr<void> allocate(size_t bytes) const;
  virtual void copy_from_host(void* device_dst, const void* host_src, size_t bytes) const;
  virtual void copy_to_host(void* host_dst, const void* device_src, size_t bytes) const;
  // Waits until work queued on the device is done (host devices: nothing queued).
  virtual void synchronize() const {}

 protected:
  Device(DeviceKind kind, int index, std::string name, size_t capacity, std::vector<int> cores);

 private:
  DeviceKind kind_;
  int index_;
  std::string name_;
  size_t capacity_;
  std::vector<int> cores_;
};

// The host CPU, all its cores (the default device of every host backend).
const Device& host_device();

// A device made of some host cores: host memory, its own core list. Kept alive by the
// returned pointer; two calls with the same cores give equal names.
std::shared_ptr<const Device> host_cores_device(std::vector<int> cores);

// Whether a value written on `from` must be copied to be read on `to`.
bool needs_copy(const Device& from, const Device& to);

}  // namespace frugal
