// Block-circulant layers (CirCNN: Ding et al., MICRO 2017): each fully-connected layer
// (Gemm, MatMul with a constant 2-D weight) and 1x1 convolution becomes a
// frugal.BlockCirculant node (ops/block_circulant.h) whose [out, in] weight is made of b x b
// circulant blocks, b values each instead of b^2. The projection of a trained dense weight
// is the nearest block-circulant matrix in Frobenius norm: each block's value on diagonal d is
// the mean of the dense block's entries on that (wrapped) diagonal. A layer whose sizes b does
// not divide is refused unless `pad` is given: then the blocks cover the layer zero-padded
// to multiples of b (inputs padded with zeros, extra outputs dropped) and the mean runs over
// the layer's own entries. docs/compression.md ("Block-circulant layers").
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "frugal/ir/graph.h"

namespace frugal::compress {

// --circulant B[:pad][:dense][:rescale][:fft=own|fftw]
//   B      block size, a power of two from 4 to 256
//   pad    zero-pad layers whose sizes B does not divide (otherwise they are an error)
//   dense  write the dense equivalent (the original op types with the projected weights) for
//          other runtimes, instead of frugal.BlockCirculant nodes
//   rescale  keep_scale below (a start for fine-tuning: the plain projection of a trained
//          layer keeps little of its spread, and its activations fade layer after layer)
//   fft    the FFT the cpu kernel and training run on (default fftw)
struct CirculantSpec {
  int64_t block = 0;
  bool pad = false;
  bool dense = false;
  std::string fft = "fftw";
  std::vector<std::string> exclude;  // names, globs, first, last (compress/prune.h)
  // Scale each projected weight so that its standard deviation is the dense weight's (the mean
  // of b random values has 1/sqrt(b) of their spread). frugal train --circulant sets it.
  bool keep_scale = false;

  std::string str() const;
};
// UserError "--circulant 'TEXT': reason".
CirculantSpec parse_circulant_spec(const std::string& text,
                                   const std::string& origin = "--circulant");

struct LayerCirculant {
  std::string name, op_type;
  int64_t rows = 0, cols = 0;  // outputs x inputs
  int64_t block_rows = 0, block_cols = 0;
  int64_t params_before = 0, params_after = 0;  // weights (bias excluded)
  double rel_error = 0;                         // ||W - P(W)||_F / ||W||_F
  std::string node;
};

struct CirculantResult {
  ir::Graph graph;
  std::vector<LayerCirculant> layers;
  std::vector<std::string> notes;  // layers left alone and why
  int64_t params_before = 0, params_after = 0;
};

// The projection of a row-major rows x cols matrix onto block-circulant matrices of block b
// (padded as above): [ceil(rows/b), ceil(cols/b), b].
std::vector<float> project_circulant(const std::vector<float>& matrix, int64_t rows, int64_t cols,
                                     int64_t b);

// Converts the layers of `graph` (not modified). UserError naming the layer when b does not
// divide it (without pad). Appends {"circulant": SPEC} to the "frugal.compress" metadata.
CirculantResult circulant(const ir::Graph& graph, const CirculantSpec& spec);

nlohmann::json to_json(const CirculantResult& result);

}  // namespace frugal::compress
