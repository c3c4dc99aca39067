// What the recurrent operators (RNN, GRU, LSTM) share: their attributes (directions,
// activations with their alpha/beta, clip, layout), shape inference, cost, and the
// reference driver that walks directions, batch rows and time steps (sequence_lens,
// initial states, layout 0/1) around one cell step per operator. The attribute parser
// is also what the cpu kernels read, so both backends decide from one interpretation.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "frugal/ops/op.h"

namespace frugal::ops::recurrent {

enum class Cell { kRnn, kGru, kLstm };
enum class Direction { kForward, kReverse, kBidirectional };

// One of the activation functions ONNX allows in recurrent cells, with its parameters.
struct Activation {
  enum class Kind {
    kSigmoid,
    kTanh,
    kRelu,
    kAffine,
    kLeakyRelu,
    kThresholdedRelu,
    kScaledTanh,
    kHardSigmoid,
    kElu,
    kSoftsign,
    kSoftplus
  };
  Kind kind = Kind::kSigmoid;
  float alpha = 0.0f;
  float beta = 0.0f;
  std::string name;  // as spelled in the model
  double apply(double x) const;
};

struct Attrs {
  Cell cell = Cell::kRnn;
  Direction direction = Direction::kForward;
  int64_t num_directions = 1;
  int64_t hidden_size = 0;
  // activations_per_direction() functions for direction 0, then those for direction 1.
  std::vector<Activation> activations;
  std::optional<float> clip;
  int64_t layout = 0;                // 0: [seq, batch, ...]; 1: [batch, seq, ...] (opset 14)
  bool input_forget = false;         // LSTM
  bool linear_before_reset = false;  // GRU
  int64_t gates() const;             // 1 (RNN), 3 (GRU), 4 (LSTM)
  int64_t activations_per_direction() const;  // 1, 2, 3
  const Activation& activation(int64_t dir, int64_t k) const {
    return activations[static_cast<size_t>(dir * activations_per_direction() + k)];
  }
  // True when every activation is the ONNX default of this cell.
  bool default_activations() const;
};

// Reads and checks the attributes; UserError naming the node for an invalid model.
Attrs parse_attrs(const ir::Node& node, Cell cell);

// Input indices common to the three operators.
enum Input : size_t {
  kX = 0,
  kW = 1,
  kR = 2,
  kB = 3,
  kSeqLens = 4,
  kInitialH = 5,
  kInitialC = 6,
  kP = 7
};

// Sizes read from X's shape and the attributes.
struct Dims {
  int64_t seq = 0, batch = 0, input = 0, hidden = 0, dirs = 1;
};
Dims dims_of(const Attrs& a, const Shape& x);

void infer(InferContext& ctx, Cell cell);
Work cost(const CostContext& c, Cell cell);

// One direction's weights, biases and peepholes, as doubles (reference precision).
struct CellWeights {
  const double* w;   // [gates*hidden, input]
  const double* r;   // [gates*hidden, hidden]
  const double* wb;  // [gates*hidden]
  const double* rb;  // [gates*hidden]
  const double* p;   // LSTM peepholes [3*hidden] (i, o, f), or null
  int64_t input, hidden;
};

// Computes h (and c for LSTM) of one batch row at one time step, direction `dir`.
using StepFn =
    std::function<void(const Attrs& a, int64_t dir, const CellWeights& wt, const double* x,
                       const double* h_prev, const double* c_prev, double* h, double* c)>;

// The reference kernel: runs `step` over every direction, batch row and valid time step.
void run_reference(KernelContext& ctx, Cell cell, const StepFn& step);

// out[k] += sum_j m[first_row + k][j] * v[j] for k in [0, rows), m row-major with `cols`.
void add_matvec(const double* m, int64_t cols, int64_t first_row, int64_t rows, const double* v,
                double* out);
// The pre-activations of gates [first_gate, first_gate + count): W x + R h + Wb + Rb.
std::vector<double> gate_inputs(const CellWeights& wt, int64_t first_gate, int64_t count,
                                const double* x, const double* h);
// Clip (if any) then the activation: ONNX clips the input of activations.
double activate(const Attrs& a, const Activation& f, double x);

}  // namespace frugal::ops::recurrent
