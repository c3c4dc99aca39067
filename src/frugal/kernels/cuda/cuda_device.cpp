#include "frugal/kernels/cuda/cuda_device.h"

#include <cstring>
#include <new>

#include "frugal/core/error.h"
#include "frugal/kernels/cuda/cublaslt_api.h"
#include "frugal/kernels/cuda/host_plan.h"

namespace frugal::kernels::cuda {

void check(cudaError_t e, const char* call) {
  if (e != cudaSuccess)
    throw InternalError(std::string("cuda: ") + call + ": " + cudaGetErrorString(e) + " (" +
                        cudaGetErrorName(e) + ")");
}

void check(cudnnStatus_t s, const char* call) {
  if (s != CUDNN_STATUS_SUCCESS)
    throw InternalError(std::string("cuda: ") + call + ": " + cudnnGetErrorString(s));
}

void check_blas(cublasStatus_t s, const char* call) {
  if (s != CUBLAS_STATUS_SUCCESS)
    throw InternalError(std::string("cuda: ") + call + ": cuBLAS status " + std::to_string(s));
}

void check_launch(const char* kernel) {
  check(cudaGetLastError(), kernel);
}

const Probe& probe() {
  static const Probe p = [] {
    Probe r;
    const cudaError_t e = cudaGetDeviceCount(&r.devices);
    if (e != cudaSuccess) {
      r.devices = 0;
      r.reason = std::string("cudaGetDeviceCount: ") + cudaGetErrorString(e) + " (" +
                 cudaGetErrorName(e) + ")";
      cudaGetLastError();  // clear the sticky-free error so later calls start clean
    } else if (r.devices == 0) {
      r.reason = "cudaGetDeviceCount: no CUDA device";
    }
    return r;
  }();
  return p;
}

namespace {

size_t total_memory(int index) {
  cudaDeviceProp prop{};
  check(cudaGetDeviceProperties(&prop, index), "cudaGetDeviceProperties");
  return prop.totalGlobalMem;
}

std::string describe(int index) {
  cudaDeviceProp prop{};
  check(cudaGetDeviceProperties(&prop, index), "cudaGetDeviceProperties");
  return std::string(prop.name) + ", compute " + std::to_string(prop.major) + "." +
         std::to_string(prop.minor);
}

std::string version_string(int v) {  // CUDA's 1000 * major + 10 * minor
  return std::to_string(v / 1000) + "." + std::to_string(v % 1000 / 10);
}

}  // namespace

CudaDevice::CudaDevice(int index)
    : Device(DeviceKind::kCuda, index, "cuda:" + std::to_string(index), total_memory(index), {}),
      description_(describe(index)) {
  check(cudaSetDevice(index), "cudaSetDevice");
  check(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking), "cudaStreamCreate");
  check(cudnnCreate(&cudnn_), "cudnnCreate");
  check(cudnnSetStream(cudnn_, stream_), "cudnnSetStream");
}

// Errors are ignored here: at exit the driver may already be shutting down.
CudaDevice::~CudaDevice() {
  if (cublaslt_) lt().destroy(cublaslt_);
  if (cudnn_) cudnnDestroy(cudnn_);
  scratch_.reset();
  if (staging_) cudaFreeHost(staging_);
  if (fault_host_) cudaFreeHost(fault_host_);
  fault_.reset();
  if (stream_) cudaStreamDestroy(stream_);
}

std::shared_ptr<void> CudaDevice::allocate(size_t bytes) const {
  if (bytes == 0) return nullptr;
  void* p = nullptr;
  const cudaError_t e = cudaMalloc(&p, bytes);
  if (e != cudaSuccess) {
    cudaGetLastError();
    size_t free = 0, total = 0;
    cudaMemGetInfo(&free, &total);
    throw UserError(name() + " (" + description_ + "): out of memory: " + std::to_string(bytes) +
                    " bytes needed, " + std::to_string(free) + " free of " + std::to_string(total));
  }
  return std::shared_ptr<void>(p, [](void* q) { cudaFree(q); });
}

void* CudaDevice::staging(size_t bytes) const {
  if (bytes > staging_bytes_) {
    if (staging_) check(cudaFreeHost(staging_), "cudaFreeHost");
    staging_ = nullptr;
    staging_bytes_ = 0;
    check(cudaMallocHost(&staging_, bytes), "cudaMallocHost");
    staging_bytes_ = bytes;
  }
  return staging_;
}

// Through pinned memory, so that the DMA runs at full bandwidth; synchronous, as the
// caller's host buffer may change as soon as the copy step returns.
void CudaDevice::copy_from_host(void* device_dst, const void* host_src, size_t bytes) const {
  if (bytes == 0) return;
  std::lock_guard<std::mutex> lock(staging_mutex_);
  void* pinned = staging(bytes);
  // The previous copy out of the staging buffer must be done before it is overwritten.
  check(cudaStreamSynchronize(stream_), "cudaStreamSynchronize");
  std::memcpy(pinned, host_src, bytes);
  check(cudaMemcpyAsync(device_dst, pinned, bytes, cudaMemcpyHostToDevice, stream_),
        "cudaMemcpyAsync to device");
  check(cudaStreamSynchronize(stream_), "cudaStreamSynchronize");
}

void CudaDevice::copy_to_host(void* host_dst, const void* device_src, size_t bytes) const {
  if (bytes == 0) return;
  std::lock_guard<std::mutex> lock(staging_mutex_);
  void* pinned = staging(bytes);
  check(cudaMemcpyAsync(pinned, device_src, bytes, cudaMemcpyDeviceToHost, stream_),
        "cudaMemcpyAsync to host");
  fetch_index_fault();
  check(cudaStreamSynchronize(stream_), "cudaStreamSynchronize");
  std::memcpy(host_dst, pinned, bytes);
  raise_index_fault();
}

void CudaDevice::synchronize() const {
  fetch_index_fault();
  check(cudaStreamSynchronize(stream_), "cudaStreamSynchronize");
  raise_index_fault();
}

int64_t CudaDevice::index_fault_site(std::string node, int64_t dim) const {
  std::lock_guard<std::mutex> lock(fault_mutex_);
  if (!fault_) {
    fault_ = allocate(sizeof(IndexFault));
    // On the device's stream (non-blocking: the legacy default stream does not order it).
    check(cudaMemsetAsync(fault_.get(), 0, sizeof(IndexFault), stream_), "cudaMemsetAsync");
    check(cudaStreamSynchronize(stream_), "cudaStreamSynchronize");
    void* host = nullptr;
    check(cudaMallocHost(&host, sizeof(IndexFault)), "cudaMallocHost");
    fault_host_ = new (host) IndexFault{};
  }
  fault_sites_.emplace_back(std::move(node), dim);
  return static_cast<int64_t>(fault_sites_.size());
}

void CudaDevice::fetch_index_fault() const {
  std::lock_guard<std::mutex> lock(fault_mutex_);
  if (!fault_) return;
  check(cudaMemcpyAsync(fault_host_, fault_.get(), sizeof(IndexFault), cudaMemcpyDeviceToHost,
                        stream_),
        "cudaMemcpyAsync to host (index fault)");
}

void CudaDevice::raise_index_fault() const {
  std::lock_guard<std::mutex> lock(fault_mutex_);
  if (!fault_ || fault_host_->site == 0) return;
  const IndexFault f = *fault_host_;
  *fault_host_ = IndexFault{};
  check(cudaMemsetAsync(fault_.get(), 0, sizeof(IndexFault), stream_), "cudaMemsetAsync");
  check(cudaStreamSynchronize(stream_), "cudaStreamSynchronize");
  const auto& [node, dim] = fault_sites_.at(static_cast<size_t>(f.site - 1));
  throw UserError(index_fault_message(node, f.index, dim));
}

namespace {

struct Event final : QueuedDevice::Mark {
  cudaEvent_t event = nullptr;
  Event() { check(cudaEventCreate(&event), "cudaEventCreate"); }
  ~Event() override { cudaEventDestroy(event); }
  Event(const Event&) = delete;
  Event& operator=(const Event&) = delete;
};

// A captured graph, instantiated; `scratch` is the scratch buffer its kernels were given
// (a later plan may grow it, which moves it: the graph is then stale).
struct Graph final : QueuedDevice::Recording {
  cudaGraph_t graph = nullptr;
  cudaGraphExec_t exec = nullptr;
  const void* scratch = nullptr;
  Graph() = default;
  ~Graph() override {
    if (exec) cudaGraphExecDestroy(exec);
    if (graph) cudaGraphDestroy(graph);
  }
  Graph(const Graph&) = delete;
  Graph& operator=(const Graph&) = delete;
};

}  // namespace

std::unique_ptr<QueuedDevice::Mark> CudaDevice::make_mark() const {
  return std::make_unique<Event>();
}

void CudaDevice::record(Mark& m) const {
  check(cudaEventRecord(static_cast<Event&>(m).event, stream_), "cudaEventRecord");
}

double CudaDevice::seconds_between(const Mark& from, const Mark& to) const {
  const cudaEvent_t end = static_cast<const Event&>(to).event;
  check(cudaEventSynchronize(end), "cudaEventSynchronize");
  float ms = 0;
  check(cudaEventElapsedTime(&ms, static_cast<const Event&>(from).event, end),
        "cudaEventElapsedTime");
  return static_cast<double>(ms) * 1e-3;
}

// Thread-local mode: only this thread's unsafe calls (allocations, synchronisation) break
// the capture; other threads using the GPU are not affected.
void CudaDevice::begin_capture() const {
  check(cudaStreamBeginCapture(stream_, cudaStreamCaptureModeThreadLocal),
        "cudaStreamBeginCapture");
}

std::unique_ptr<QueuedDevice::Recording> CudaDevice::end_capture() const {
  auto g = std::make_unique<Graph>();
  const cudaError_t e = cudaStreamEndCapture(stream_, &g->graph);
  if (e != cudaSuccess) cudaGetLastError();  // not sticky: later calls start clean
  check(e, "cudaStreamEndCapture");
  check(cudaGraphInstantiate(&g->exec, g->graph, 0), "cudaGraphInstantiate");
  g->scratch = scratch_.get();
  return g;
}

void CudaDevice::abort_capture() const noexcept {
  cudaStreamCaptureStatus status = cudaStreamCaptureStatusNone;
  if (cudaStreamIsCapturing(stream_, &status) == cudaSuccess &&
      status != cudaStreamCaptureStatusNone) {
    cudaGraph_t g = nullptr;
    if (cudaStreamEndCapture(stream_, &g) == cudaSuccess && g) cudaGraphDestroy(g);
  }
  cudaGetLastError();
}

bool CudaDevice::replay(const Recording& r) const {
  const auto& g = static_cast<const Graph&>(r);
  if (g.scratch != scratch_.get()) return false;
  check(cudaGraphLaunch(g.exec, stream_), "cudaGraphLaunch");
  return true;
}

cublasLtHandle_t CudaDevice::cublaslt() const {
  if (!cublaslt_) check_blas(lt().create(&cublaslt_), "cublasLtCreate");
  return cublaslt_;
}

void CudaDevice::reserve_scratch(size_t bytes) const {
  if (bytes <= scratch_bytes_) return;
  synchronize();  // kernels queued earlier may still use the old buffer
  scratch_.reset();
  scratch_bytes_ = 0;
  scratch_ = allocate(bytes);
  scratch_bytes_ = bytes;
}

std::shared_ptr<void> CudaDevice::upload(const void* host, size_t bytes) const {
  std::shared_ptr<void> d = allocate(bytes);
  copy_from_host(d.get(), host, bytes);
  return d;
}

const CudaDevice& gpu() {
  if (probe().devices == 0) throw UserError("no GPU: " + probe().reason);
  static const CudaDevice device(0);
  return device;
}

std::map<std::string, std::string> gpu_versions() {
  std::map<std::string, std::string> v;
  int driver = 0, runtime = 0;
  if (cudaDriverGetVersion(&driver) == cudaSuccess && driver > 0)
    v["cuda_driver_api"] = version_string(driver);
  if (cudaRuntimeGetVersion(&runtime) == cudaSuccess) v["cuda_runtime"] = version_string(runtime);
  const size_t dnn = cudnnGetVersion();  // 10000 * major + 100 * minor + patch (cuDNN 9)
  v["cudnn"] = std::to_string(dnn / 10000) + "." + std::to_string(dnn / 100 % 100) + "." +
               std::to_string(dnn % 100);
  if (lt_loaded()) {
    const size_t b = lt().version();
    v["cublaslt"] = std::to_string(b / 10000) + "." + std::to_string(b / 100 % 100) + "." +
                    std::to_string(b % 100);
  }
  if (probe().devices > 0) v["gpu"] = gpu().description();
  return v;
}

}  // namespace frugal::kernels::cuda
