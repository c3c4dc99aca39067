// frugal's own LSTM, GRU and RNN kernel (rnn_loops.h): the input projection of all time
// steps and directions as one oneDNN matmul (X [seq * batch, input] by the packed W^T, the
// biases that are plain sums as its bias), then the time steps in frugal's loops, the
// recurrent product and the gate arithmetic fused per block of hidden units.
//
// Why not oneDNN's recurrent primitive: oneDNN 2.6 runs it through its generic RNN driver
// (`ref:any`), which calls a packed GEMM and then a separate elementwise pass over the gates
// per step; at batch 1 the LSTM took 1.14x ONNX Runtime's time (bench/RESULTS.md, "Recurrent
// layers"). This kernel also runs what the primitive cannot (sequence_lens, clip, every
// activation ONNX allows, input_forget), so that such nodes stay on cpu.
//
// Threads: a bidirectional node runs its directions on two threads (no synchronization);
// with more threads than directions, each direction's hidden blocks are split among its
// threads, which then meet at a barrier after each step (two for the linear-before-reset-0
// GRU), only where a step's product is large enough to pay for it and idle workers spin.
#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "frugal/core/error.h"
#include "frugal/kernels/cpu/depthwise.h"
#include "frugal/kernels/cpu/own_rnn.h"
#include "frugal/kernels/cpu/rnn_loops.h"
#include "frugal/kernels/cpu/threads.h"

namespace frugal::kernels::cpu {
namespace {

using dt = dnnl::memory::data_type;
using namespace ops::recurrent;

// A step's product (batch x gates x hidden x hidden multiply-accumulates) from which
// splitting its blocks over one more thread pays for a barrier per step.
constexpr int64_t kMinStepMacsPerThread = int64_t{1} << 15;

// The projection's multiply-accumulates from which another thread pays for its wake-up:
// about 8 us of work where idle workers spin, 130 us where they sleep (a futex wake-up and
// a scheduler slice, kernels/cpu/threads.h). Below, oneDNN's matmul runs on one thread.
int projection_threads(int64_t macs, int available) {
  const int64_t per_thread = awake_us() > 0 ? int64_t{1} << 18 : int64_t{1} << 22;
  return static_cast<int>(std::clamp<int64_t>(macs / per_thread, 1, std::max(available, 1)));
}

RnnShape shape_of(const Attrs& a, const Dims& d) {
  RnnShape s;
  s.cell = a.cell;
  s.linear_before_reset = a.cell == Cell::kGru && a.linear_before_reset;
  s.input_forget = a.cell == Cell::kLstm && a.input_forget;
  s.clip = a.clip ? *a.clip : 0.0f;
  s.seq = d.seq;
  s.batch = d.batch;
  s.hidden = d.hidden;
  s.padded = (d.hidden + kRnnBlock - 1) / kRnnBlock * kRnnBlock;
  s.dirs = d.dirs;
  s.layout = a.layout;
  s.reverse = a.direction == Direction::kReverse;
  s.gates = a.gates();
  return s;
}

// Column of gate g, hidden unit u of direction `dir` in the projection (and in the packed
// W^T and bias): per block of 16 units, the gates side by side.
int64_t proj_column(const RnnShape& sh, int64_t dir, int64_t g, int64_t u) {
  return dir * sh.proj_cols() + ((u / kRnnBlock) * sh.gates + g) * kRnnBlock + u % kRnnBlock;
}

// ONNX's weights (any of them may come at run time) packed as the loops and the matmul
// read them. Sizes per direction: W^T [input][proj_cols] (all directions side by side),
// bias [proj_cols], R [blocks][hidden][panel_gates * 16], Rh [blocks][hidden][16], Rbh
// [padded], P [3][padded].
struct Packed {
  Tensor w, bias, r, r_h, rb_h, peephole;
};

Tensor zeros(Shape shape) {
  Tensor t(DType::kF32, std::move(shape));
  std::fill(t.data<float>(), t.data<float>() + t.numel(), 0.0f);
  return t;
}

// W^T and the bias only for constant weights (else the matmul reads kernel buffers).
Packed allocate(const RnnShape& sh, int64_t input, bool peephole, bool at_run) {
  Packed p;
  const int64_t d = sh.dirs;
  if (!at_run) {
    p.w = zeros({input, d * sh.proj_cols()});
    p.bias = zeros({1, d * sh.proj_cols()});
  }
  p.r = zeros({d * sh.padded * sh.hidden * sh.panel_gates()});
  if (sh.panel_gates() != sh.gates) p.r_h = zeros({d * sh.padded * sh.hidden});
  if (sh.linear_before_reset) p.rb_h = zeros({d * sh.padded});
  if (peephole) p.peephole = zeros({d * 3 * sh.padded});
  return p;
}

// W [dirs][gates * hidden][input] as W^T [input][dirs * proj_cols].
void pack_w(const RnnShape& sh, int64_t input, const float* w, float* out) {
  const int64_t ld = sh.dirs * sh.proj_cols();
  for (int64_t dir = 0; dir < sh.dirs; ++dir)
    for (int64_t g = 0; g < sh.gates; ++g)
      for (int64_t u = 0; u < sh.hidden; ++u) {
        const float* row = w + ((dir * sh.gates + g) * sh.hidden + u) * input;
        float* col = out + proj_column(sh, dir, g, u);
        for (int64_t i = 0; i < input; ++i) col[i * ld] = row[i];
      }
}

// B [dirs][2 * gates * hidden] (Wb, then Rb): Wb + Rb into the projection's bias, but for
// the linear-before-reset GRU's h gate, whose Rbh goes inside the reset product.
void pack_bias(const RnnShape& sh, const float* b, float* bias, float* rb_h) {
  const int64_t gh = sh.gates * sh.hidden;
  for (int64_t dir = 0; dir < sh.dirs; ++dir) {
    const float* wb = b + dir * 2 * gh;
    const float* rb = wb + gh;
    for (int64_t g = 0; g < sh.gates; ++g)
      for (int64_t u = 0; u < sh.hidden; ++u) {
        const bool inside = sh.linear_before_reset && g == 2;
        bias[proj_column(sh, dir, g, u)] =
            wb[g * sh.hidden + u] + (inside ? 0.0f : rb[g * sh.hidden + u]);
        if (inside) rb_h[dir * sh.padded + u] = rb[g * sh.hidden + u];
      }
  }
}

// R [dirs][gates * hidden][hidden]: gates [g0, g0 + count) as panels [blocks][hidden][count * 16].
void pack_panel(const RnnShape& sh, const float* r, int64_t g0, int64_t count, float* out) {
  const int64_t h = sh.hidden, width = count * kRnnBlock;
  for (int64_t dir = 0; dir < sh.dirs; ++dir) {
    float* panels = out + dir * sh.padded * h * count;
    for (int64_t g = 0; g < count; ++g)
      for (int64_t u = 0; u < h; ++u) {
        const float* row = r + ((dir * sh.gates + g0 + g) * h + u) * h;
        float* col = panels + (u / kRnnBlock) * h * width + g * kRnnBlock + u % kRnnBlock;
        for (int64_t k = 0; k < h; ++k) col[k * width] = row[k];
      }
  }
}

void pack_r(const RnnShape& sh, const float* r, Packed& p) {
  pack_panel(sh, r, 0, sh.panel_gates(), p.r.data<float>());
  if (sh.panel_gates() != sh.gates) pack_panel(sh, r, 2, 1, p.r_h.data<float>());
}

// P [dirs][3 * hidden] (i, o, f) as [dirs][3][padded].
void pack_peephole(const RnnShape& sh, const float* in, float* out) {
  for (int64_t dir = 0; dir < sh.dirs; ++dir)
    for (int64_t q = 0; q < 3; ++q)
      std::copy_n(in + (dir * 3 + q) * sh.hidden, sh.hidden, out + (dir * 3 + q) * sh.padded);
}

// An optional input: its constant, or its memory bound at run time, or nothing.
struct Source {
  const Tensor* constant = nullptr;
  dnnl::memory bound;
  const float* data() const {
    if (constant) return constant->data<float>();
    return bound ? static_cast<const float*>(bound.get_data_handle()) : nullptr;
  }
};

// What the kernel's steps share: the shape, the packed weights, the states and the bound
// tensors. Built once; a run allocates nothing.
struct OwnRnn {
  RnnShape shape;
  Attrs attrs;
  std::string node;  // for errors
  int64_t input = 0;
  int threads = 1;      // for the time steps (step_threads, when built)
  int run_threads = 1;  // the run's thread count, while the projection runs on fewer
  Packed packed;
  std::vector<RnnDirection> directions;
  Tensor h_state;              // [dirs][2][batch][padded]: step s reads s % 2, writes the other
  Tensor c_state, z, reset_h;  // [dirs][batch][padded]
  Source w, r, b, p;           // for weights given at run time
  dnnl::memory proj, w_run, bias_run, lens, h0, c0, y, y_h, y_c;

  float* state(Tensor& t, int64_t dir, int64_t n) {
    return t.numel() > 0 ? t.data<float>() + (dir * shape.batch + n) * shape.padded : nullptr;
  }
  float* h(int64_t dir, int64_t buffer, int64_t n) {
    return h_state.data<float>() + ((dir * 2 + buffer) * shape.batch + n) * shape.padded;
  }
  // Offset of (dir, n)'s row in ONNX's initial_h/c and Y_h/Y_c.
  int64_t boundary_state(int64_t dir, int64_t n) const {
    return (shape.layout == 0 ? dir * shape.batch + n : n * shape.dirs + dir) * shape.hidden;
  }
};

template <typename T>
T* handle(const dnnl::memory& m) {
  return m ? static_cast<T*>(m.get_data_handle()) : nullptr;
}

// Weights given at run time, packed where the matmul and the loops read them.
void pack_at_run(OwnRnn& k) {
  const RnnShape& sh = k.shape;
  pack_w(sh, k.input, k.w.data(), handle<float>(k.w_run));
  float* bias = handle<float>(k.bias_run);
  std::fill(bias, bias + sh.dirs * sh.proj_cols(), 0.0f);
  if (k.b.data())
    pack_bias(sh, k.b.data(), bias, sh.linear_before_reset ? k.packed.rb_h.data<float>() : nullptr);
  pack_r(sh, k.r.data(), k.packed);
  if (k.p.data()) pack_peephole(sh, k.p.data(), k.packed.peephole.data<float>());
}

const int32_t* checked_lens(const OwnRnn& k) {
  const int32_t* lens = handle<const int32_t>(k.lens);
  if (!lens) return nullptr;
  for (int64_t n = 0; n < k.shape.batch; ++n)
    if (lens[n] < 0 || lens[n] > k.shape.seq)
      throw UserError(k.node + ": sequence_lens holds " + std::to_string(lens[n]) +
                      ", outside [0, " + std::to_string(k.shape.seq) + "]");
  return lens;
}

// initial_h / initial_c (or zeros) into the states; Y zeroed where sequence_lens leaves
// steps out.
void start(OwnRnn& k, const int32_t* lens) {
  const RnnShape& sh = k.shape;
  const float* h0 = handle<const float>(k.h0);
  const float* c0 = handle<const float>(k.c0);
  for (int64_t dir = 0; dir < sh.dirs; ++dir)
    for (int64_t n = 0; n < sh.batch; ++n) {
      const int64_t at = k.boundary_state(dir, n);
      float* h = k.h(dir, 0, n);
      if (h0)
        std::copy_n(h0 + at, sh.hidden, h);
      else
        std::fill_n(h, sh.hidden, 0.0f);
      if (float* c = k.state(k.c_state, dir, n)) {
        if (c0)
          std::copy_n(c0 + at, sh.hidden, c);
        else
          std::fill_n(c, sh.hidden, 0.0f);
      }
    }
  if (float* y = handle<float>(k.y); y && lens)
    std::fill_n(y, sh.seq * sh.dirs * sh.batch * sh.hidden, 0.0f);
}

// Y_h and Y_c: each row's state after its last step.
void finish(OwnRnn& k, const int32_t* lens) {
  const RnnShape& sh = k.shape;
  float* y_h = handle<float>(k.y_h);
  float* y_c = handle<float>(k.y_c);
  for (int64_t dir = 0; dir < sh.dirs; ++dir)
    for (int64_t n = 0; n < sh.batch; ++n) {
      const int64_t at = k.boundary_state(dir, n);
      const int64_t len = lens ? lens[n] : sh.seq;
      if (y_h) std::copy_n(k.h(dir, len % 2, n), sh.hidden, y_h + at);
      if (y_c) std::copy_n(k.state(k.c_state, dir, n), sh.hidden, y_c + at);
    }
}

// Threads for the time steps: the directions on threads of their own, and each
// direction's blocks over more threads where a step's product pays for a barrier.
int step_threads(const RnnShape& sh, int available) {
  if (available <= 1) return 1;
  int per_dir = 1;
  if (awake_us() > 0) {
    const int64_t step_macs = sh.batch * sh.gates * sh.padded * sh.hidden;
    const int64_t most = std::min<int64_t>(sh.blocks(), available / sh.dirs);
    per_dir = static_cast<int>(
        std::clamp<int64_t>(step_macs / kMinStepMacsPerThread, 1, std::max<int64_t>(1, most)));
  }
  return static_cast<int>(std::min<int64_t>(available, sh.dirs * per_dir));
}

void run_steps(OwnRnn& k, const int32_t* lens, int t, int threads) {
  const RnnShape& sh = k.shape;
  // Thread t runs direction t % dirs (every direction when alone), sharing its blocks with
  // the other threads of that direction.
  const int64_t dirs = sh.dirs, first_dir = threads >= dirs ? t % dirs : 0;
  const int64_t last_dir = threads >= dirs ? first_dir + 1 : dirs;
  const int64_t mates = threads >= dirs ? (threads - first_dir + dirs - 1) / dirs : 1;
  const int64_t mate = threads >= dirs ? t / dirs : 0;
  const bool meet = threads > dirs;
  const bool two_phases = sh.cell == Cell::kGru && !sh.linear_before_reset;
  RnnStep st{};
  st.shape = &sh;
  st.block0 = sh.blocks() * mate / mates;
  st.block1 = sh.blocks() * (mate + 1) / mates;
  st.proj = handle<const float>(k.proj);
  st.lens = lens;
  st.y = handle<float>(k.y);
  auto run_phase = [&](int phase, int64_t s) {
    for (int64_t dir = first_dir; dir < last_dir; ++dir) {
      st.weights = &k.directions[dir];
      st.dir = dir;
      st.s = s;
      st.phase = phase;
      st.h_prev = k.h(dir, s % 2, 0);
      st.h_next = k.h(dir, (s + 1) % 2, 0);
      st.c = k.state(k.c_state, dir, 0);
      st.z = k.state(k.z, dir, 0);
      st.reset_h = k.state(k.reset_h, dir, 0);
      rnn_step_avx512(st);
    }
  };
  for (int64_t s = 0; s < sh.seq; ++s) {
    run_phase(0, s);
    if (two_phases) {
      if (meet) parallel_barrier();
      run_phase(1, s);
    }
    if (meet) parallel_barrier();
  }
}

void recur(OwnRnn& k) {
  const int32_t* lens = checked_lens(k);
  start(k, lens);
  struct Job {
    OwnRnn* k;
    const int32_t* lens;
  } job{&k, lens};
  parallel_run(
      std::min(k.threads, num_threads()),
      [](void* data, int t, int threads) {
        const Job& j = *static_cast<const Job*>(data);
        run_steps(*j.k, j.lens, t, threads);
      },
      &job);
  finish(k, lens);
}

// The states and the per-direction views of the packed weights.
void allocate_states(OwnRnn& k) {
  const RnnShape& sh = k.shape;
  const int64_t state = sh.dirs * sh.batch * sh.padded;
  k.h_state = zeros({2 * state});
  if (sh.cell == Cell::kLstm) k.c_state = zeros({state});
  if (sh.cell == Cell::kGru) k.z = zeros({state});
  if (sh.cell == Cell::kGru && !sh.linear_before_reset) k.reset_h = zeros({state});
  const int64_t per = k.attrs.activations_per_direction();
  for (int64_t dir = 0; dir < sh.dirs; ++dir) {
    RnnDirection d;
    d.r = k.packed.r.data<float>() + dir * sh.padded * sh.hidden * sh.panel_gates();
    if (k.packed.r_h.numel()) d.r_h = k.packed.r_h.data<float>() + dir * sh.padded * sh.hidden;
    if (k.packed.rb_h.numel()) d.rb_h = k.packed.rb_h.data<float>() + dir * sh.padded;
    if (k.packed.peephole.numel())
      d.peephole = k.packed.peephole.data<float>() + dir * 3 * sh.padded;
    d.f = &k.attrs.activation(dir, 0);
    if (per > 1) d.g = &k.attrs.activation(dir, 1);
    if (per > 2) d.h = &k.attrs.activation(dir, 2);
    k.directions.push_back(d);
  }
}

Source source(OnednnKernel& kernel, const Build& b, size_t index) {
  Source s;
  if (!b.has_input(index)) return s;
  s.constant = b.constant(index);
  if (!s.constant) s.bound = kernel.bind_input(index, plain_md(b.in_shape(index), dt::f32));
  return s;
}

dnnl::memory bound_input(OnednnKernel& kernel, const Build& b, size_t index, dt type) {
  return b.has_input(index) ? kernel.bind_input(index, plain_md(b.in_shape(index), type))
                            : dnnl::memory();
}
dnnl::memory bound_output(OnednnKernel& kernel, const Build& b, size_t index) {
  return b.has_output(index) ? kernel.bind_output(index, plain_md(b.out_shape(index), dt::f32))
                             : dnnl::memory();
}

// The projection of every step: X [seq * batch, input] (either layout: rows in X's order)
// by W^T, plus the bias.
void add_projection(OnednnKernel& kernel, const Build& b, OwnRnn& k, bool at_run) {
  const RnnShape& sh = k.shape;
  const int64_t rows = sh.seq * sh.batch, cols = sh.dirs * sh.proj_cols();
  const dnnl::memory::desc x = plain_md({rows, k.input}, dt::f32);
  const dnnl::memory::desc w = plain_md({k.input, cols}, dt::f32);
  const dnnl::memory::desc bias = plain_md({1, cols}, dt::f32);
  const dnnl::memory::desc dst = plain_md({rows, cols}, dt::f32);
  const dnnl::memory::desc w_any(w.dims(), dt::f32, dnnl::memory::format_tag::any);
  const dnnl::matmul::primitive_desc pd(dnnl::matmul::desc(x, at_run ? w : w_any, bias, dst),
                                        scratchpad_attr(), b.context->engine());
  Args args;
  args[DNNL_ARG_SRC] = kernel.bind_input(kX, x);
  if (at_run) {
    k.w_run = kernel.buffer(w);
    k.bias_run = kernel.buffer(bias);
    // The padded units' columns stay zero (pack_at_run writes the others).
    std::memset(k.w_run.get_data_handle(), 0, w.get_size());
    args[DNNL_ARG_WEIGHTS] = k.w_run;
    args[DNNL_ARG_BIAS] = k.bias_run;
  } else {
    args[DNNL_ARG_WEIGHTS] = kernel.constant_as(k.packed.w, w, pd.weights_desc());
    args[DNNL_ARG_BIAS] = kernel.constant_as(k.packed.bias, bias, bias);
  }
  k.proj = kernel.buffer(dst);
  args[DNNL_ARG_DST] = k.proj;
  // oneDNN runs a primitive on the calling thread's OpenMP thread count: the steps around
  // the matmul set the count its size pays for, then restore the kernel's.
  const int own = projection_threads(rows * k.input * cols, num_threads());
  OwnRnn* shared = &k;  // owned by the recurrence's step, added after these
  if (own < num_threads())
    kernel.add_function_step(
        [shared, own] {
          shared->run_threads = num_threads();
          set_num_threads(std::min(own, shared->run_threads));
        },
        "");
  kernel.add_step(pd, dnnl::matmul(pd), std::move(args), false);
  if (own < num_threads())
    kernel.add_function_step([shared] { set_num_threads(shared->run_threads); }, "");
}

std::string impl_name(const RnnShape& sh, int threads) {
  const char* cell = sh.cell == Cell::kLstm ? "lstm" : sh.cell == Cell::kGru ? "gru" : "rnn";
  std::string name = std::string("loop:") + cell + ":avx512";
  if (threads == 1) return name;
  const char* split = threads == sh.dirs ? "directions"
                      : sh.dirs == 1     ? "blocks"
                                         : "directions, blocks";
  return name + " [steps on " + std::to_string(threads) + " threads: " + split + "]";
}

}  // namespace

std::unique_ptr<kernels::Kernel> make_own_recurrent(const Build& b, Cell cell) {
  if (const char* off = std::getenv("FRUGAL_NO_OWN_RNN"); off && std::strcmp(off, "1") == 0)
    return nullptr;
  if (!dw_isa_available()) return nullptr;
  auto k = std::make_shared<OwnRnn>();
  k->attrs = parse_attrs(b.node(), cell);
  k->attrs.hidden_size = b.in_shape(kR)[2];
  k->node = b.node().describe();
  const Dims d = dims_of(k->attrs, b.in_shape(kX));
  k->shape = shape_of(k->attrs, d);
  k->input = d.input;
  const RnnShape& sh = k->shape;
  const bool peephole = cell == Cell::kLstm && b.has_input(kP);
  auto kernel = std::make_unique<OnednnKernel>(b.context);
  k->w = source(*kernel, b, kW);
  k->r = source(*kernel, b, kR);
  k->b = source(*kernel, b, kB);
  k->p = peephole ? source(*kernel, b, kP) : Source{};
  const bool at_run = !k->w.constant || !k->r.constant || (b.has_input(kB) && !k->b.constant) ||
                      (peephole && !k->p.constant);
  k->packed = allocate(sh, k->input, peephole, at_run);
  if (at_run) {
    kernel->add_function_step([k] { pack_at_run(*k); }, "loop:pack");
  } else {
    pack_w(sh, k->input, k->w.data(), k->packed.w.data<float>());
    if (k->b.data())
      pack_bias(sh, k->b.data(), k->packed.bias.data<float>(),
                sh.linear_before_reset ? k->packed.rb_h.data<float>() : nullptr);
    pack_r(sh, k->r.data(), k->packed);
    if (peephole) pack_peephole(sh, k->p.data(), k->packed.peephole.data<float>());
  }
  add_projection(*kernel, b, *k, at_run);
  k->packed.w = Tensor();  // the matmul holds its own copy (in its layout)
  allocate_states(*k);
  k->lens = bound_input(*kernel, b, kSeqLens, dt::s32);
  k->h0 = bound_input(*kernel, b, kInitialH, dt::f32);
  if (cell == Cell::kLstm) k->c0 = bound_input(*kernel, b, kInitialC, dt::f32);
  k->y = bound_output(*kernel, b, 0);
  k->y_h = bound_output(*kernel, b, 1);
  if (cell == Cell::kLstm) k->y_c = bound_output(*kernel, b, 2);
  k->threads = step_threads(sh, num_threads());
  kernel->add_function_step([k] { recur(*k); }, impl_name(sh, k->threads));
  return kernel;
}

}  // namespace frugal::kernels::cpu
