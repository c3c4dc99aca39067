// The GPU as a frugal Device (core/device.h): device memory, copies through pinned host
// staging, and what every cuda kernel shares on it: one stream (kernels and copies are
// queued in plan order, so no event is needed between steps), the cuDNN and cuBLASLt
// handles, and one scratch buffer (convolution workspaces, fp16/bf16 operands) sized at
// plan time to the largest need of any kernel, so that nothing is allocated per run.
#pragma once

#include <cublasLt.h>
#include <cuda_runtime.h>
#include <cudnn.h>

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "frugal/core/device.h"
#include "frugal/core/queued_device.h"
#include "frugal/kernels/cuda/gather_index.h"

namespace frugal::kernels::cuda {

// Throws InternalError naming the call for a failed CUDA, cuDNN or cuBLASLt call.
void check(cudaError_t e, const char* call);
void check(cudnnStatus_t s, const char* call);
void check_blas(cublasStatus_t s, const char* call);
// After a kernel launch: the launch's error, if any.
void check_launch(const char* kernel);

// Whether a GPU is usable here: the device count, or why not (cudaGetDeviceCount's error,
// or "no CUDA device"). Probed once.
struct Probe {
  int devices = 0;
  std::string reason;  // empty when devices > 0
};
const Probe& probe();

struct ConvAlgo {
  int algo = 0;          // cudnnConvolutionFwdAlgo_t
  size_t workspace = 0;  // bytes
  float ms = 0;          // cudnnFind's time
};

class CudaDevice final : public Device, public QueuedDevice {
 public:
  explicit CudaDevice(int index);
  ~CudaDevice() override;
  bool shares_host_memory() const override { return false; }
  std::shared_ptr<void> allocate(size_t bytes) const override;
  void copy_from_host(void* device_dst, const void* host_src, size_t bytes) const override;
  void copy_to_host(void* host_dst, const void* device_src, size_t bytes) const override;
  void synchronize() const override;
  // Marks are CUDA events; recordings are CUDA graphs of the stream's captured work.
  std::unique_ptr<Mark> make_mark() const override;
  void record(Mark& m) const override;
  double seconds_between(const Mark& from, const Mark& to) const override;
  void begin_capture() const override;
  std::unique_ptr<Recording> end_capture() const override;
  void abort_capture() const noexcept override;
  bool replay(const Recording& r) const override;

  cudaStream_t stream() const { return stream_; }
  cudnnHandle_t cudnn() const { return cudnn_; }
  // Created on first use (cuBLASLt is loaded then: cublaslt_api.h).
  cublasLtHandle_t cublaslt() const;
  // Scratch: reserve() at plan time (may reallocate), pointer read at run time.
  void reserve_scratch(size_t bytes) const;
  void* scratch() const { return scratch_.get(); }
  size_t scratch_bytes() const { return scratch_bytes_; }
  // cudnnFind's choice per convolution shape (key: cuda_conv.cpp), found once.
  std::map<std::string, ConvAlgo>& conv_algos() const { return conv_algos_; }
  // "NVIDIA H100 80GB HBM3, compute 9.0"
  const std::string& description() const { return description_; }
  // Uploads a host array into new device memory (weights at plan time).
  std::shared_ptr<void> upload(const void* host, size_t bytes) const;

  // Run-time indices checked on the GPU (Gather): a kernel registers a site at plan time
  // (its node's description and the axis' size, for the error) and passes index_fault() and
  // the site to its launches. Every synchronisation of the stream (copy_to_host,
  // synchronize) then reads the fault back and, if a kernel reported one, clears it and
  // throws the UserError naming the node.
  int64_t index_fault_site(std::string node, int64_t dim) const;
  IndexFault* index_fault() const { return static_cast<IndexFault*>(fault_.get()); }

 private:
  void* staging(size_t bytes) const;  // pinned host memory, grown on demand
  // Queues the fault's copy to the host (where sites exist); after the stream's sync,
  // raise_index_fault throws what it found.
  void fetch_index_fault() const;
  void raise_index_fault() const;

  cudaStream_t stream_ = nullptr;
  cudnnHandle_t cudnn_ = nullptr;
  mutable cublasLtHandle_t cublaslt_ = nullptr;
  mutable std::shared_ptr<void> scratch_;
  mutable size_t scratch_bytes_ = 0;
  mutable std::map<std::string, ConvAlgo> conv_algos_;
  mutable std::mutex staging_mutex_;
  mutable void* staging_ = nullptr;
  mutable size_t staging_bytes_ = 0;
  mutable std::mutex fault_mutex_;
  mutable std::vector<std::pair<std::string, int64_t>> fault_sites_;  // site - 1: node, dim
  mutable std::shared_ptr<void> fault_;                               // IndexFault, device
  mutable IndexFault* fault_host_ = nullptr;                          // pinned
  std::string description_;
};

// GPU 0, made on first use. Throws UserError with probe()'s reason where there is none.
const CudaDevice& gpu();

// Versions for the Record: driver, CUDA runtime, cuDNN, cuBLASLt (where loaded).
std::map<std::string, std::string> gpu_versions();

}  // namespace frugal::kernels::cuda
