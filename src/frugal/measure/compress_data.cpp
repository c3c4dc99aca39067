#include "frugal/measure/compress_data.h"

#include <algorithm>
#include <memory>

#include "frugal/core/error.h"
#include "frugal/core/npy.h"
#include "frugal/core/strings.h"
#include "frugal/measure/eval.h"
#include "frugal/measure/random_input.h"
#include "frugal/train/data/dataset.h"

namespace frugal::measure {
namespace {

constexpr int64_t kDefaultCalibrationSamples = 512;
constexpr int64_t kEvalBatch = 64;

// The model's single input: name and shape (batch 1 unless fixed), and its classes.
struct ModelPorts {
  std::string input;
  Shape shape;
  bool batch_dynamic = true;
  int64_t classes = 0;
};

ModelPorts model_ports(const ir::Graph& g, const std::string& origin) {
  runtime::SessionOptions o;
  o.origin = origin;
  runtime::Session s(g, o);
  if (s.inputs().size() != 1)
    throw UserError(origin + ": compressing with data needs a model with one input (it has " +
                    std::to_string(s.inputs().size()) + ")");
  ModelPorts m{s.inputs()[0].name, s.inputs()[0].shape, true, 0};
  for (const auto& vi : g.inputs)
    if (vi.name == m.input && vi.shape && !vi.shape->empty() && (*vi.shape)[0].known())
      m.batch_dynamic = false;
  if (!s.outputs().empty() && s.outputs()[0].shape.size() >= 2) m.classes = s.outputs()[0].shape[1];
  return m;
}

std::shared_ptr<train::Dataset> open_for(const std::string& spec, const CompressData& d,
                                         const ModelPorts& m) {
  train::DataOptions o;
  o.datasets_root = d.datasets_root;
  if (m.shape.size() == 4) {
    o.expected_sample_shape = {m.shape[1], m.shape[2], m.shape[3]};
    o.channels = static_cast<int>(m.shape[1] == 1 ? 1 : 3);
  }
  o.num_classes = m.classes;
  return train::open_dataset(spec, o);
}

std::string calibration_set(const CompressData& d) {
  if (!d.calib_data.empty()) return d.calib_data;
  if (d.data == "fashion-mnist" || d.data == "fashion-mnist:test") return "fashion-mnist:train";
  return d.data;
}

// random:N[:SEED]: N samples of every model input (several inputs allowed: token ids,
// masks), floats ~ N(0, 1), integers as frugal bench draws them (random_input.h: inside the
// table of a Gather that reads them).
compress::CalibrationSet random_calibration(const std::string& text, const ir::Graph& g,
                                            const std::string& origin) {
  const std::string rest = text.substr(7);
  const std::string count = rest.substr(0, rest.find(':'));
  if (count.empty() || count.size() > 5 ||
      count.find_first_not_of("0123456789") != std::string::npos || std::stoll(count) < 1)
    throw UserError("--calibration: '" + text + "' is not random:N[:SEED] (N 1..99999)");
  const std::string seed =
      rest.find(':') == std::string::npos ? "1" : rest.substr(rest.find(':') + 1);
  if (seed.empty() || seed.size() > 18 || seed.find_first_not_of("0123456789") != std::string::npos)
    throw UserError("--calibration: '" + text + "': SEED must be a number");
  runtime::SessionOptions o;
  o.origin = origin;
  const runtime::Session s(g, o);
  compress::CalibrationSet c;
  c.source = text;
  for (int64_t i = 0; i < std::stoll(count); ++i) {
    const uint64_t sample_seed = std::stoull(seed) + static_cast<uint64_t>(i);
    std::vector<Tensor> sample;
    for (const auto& port : s.inputs())
      sample.push_back(port.dtype == DType::kF32
                           ? compress::random_input(port, sample_seed)
                           : random_tensor(port.dtype, port.shape, sample_seed,
                                           random_int_limit(s.graph(), port.name)));
    c.batches.push_back(std::move(sample));
  }
  c.samples = std::stoll(count);
  return c;
}

compress::CalibrationSet npy_calibration(const std::string& text, const ModelPorts& m) {
  compress::CalibrationSet c;
  c.source = text;
  int64_t batch = -1;
  for (const auto& f : split(text, ',')) {
    if (!f.ends_with(".npy"))
      throw UserError("--calibration: '" + f + "' is not random:N[:SEED] or a list of .npy files");
    Tensor t = read_npy(f);
    if (t.dtype() != DType::kF32) t = t.cast(DType::kF32);
    bool fits = t.rank() == static_cast<int64_t>(m.shape.size()) && t.rank() > 0;
    for (int64_t d = 1; fits && d < t.rank(); ++d)
      fits = t.dim(d) == m.shape[static_cast<size_t>(d)];
    if (!fits)
      throw UserError("--calibration: " + f + " has shape " + shape_str(t.shape()) +
                      " but model input '" + m.input + "' is " + shape_str(m.shape) +
                      " (any batch)");
    if (batch >= 0 && t.dim(0) != batch)
      throw UserError("--calibration: " + f + " holds " + std::to_string(t.dim(0)) +
                      " samples, the first file " + std::to_string(batch) +
                      " (all files need the same batch)");
    if (!m.batch_dynamic && t.dim(0) != m.shape[0])
      throw UserError("--calibration: " + f + " holds " + std::to_string(t.dim(0)) +
                      " samples but the model's batch is fixed at " + std::to_string(m.shape[0]));
    batch = t.dim(0);
    c.samples += t.dim(0);
    c.batches.push_back({t});
  }
  c.batch = batch;
  return c;
}

// Evenly spaced samples over the whole set, so that every class is seen.
compress::CalibrationSet data_calibration(const CompressData& d, const ModelPorts& m,
                                          int64_t wanted) {
  compress::CalibrationSet c;
  c.source = calibration_set(d);
  auto data = open_for(c.source, d, m);
  const int64_t n = std::min(wanted, data->size());
  c.batch = m.batch_dynamic ? std::min<int64_t>(32, n) : m.shape[0];
  const int64_t count = std::max<int64_t>(1, n / c.batch);
  const int64_t total = count * c.batch;
  std::vector<int64_t> idx(static_cast<size_t>(total));
  for (int64_t i = 0; i < total; ++i) idx[static_cast<size_t>(i)] = i * data->size() / total;
  for (int64_t b = 0; b < count; ++b) {
    Tensor images, labels;
    data->get_batch(std::span<const int64_t>(idx).subspan(static_cast<size_t>(b * c.batch),
                                                          static_cast<size_t>(c.batch)),
                    images, labels);
    c.batches.push_back({images});
  }
  c.samples = total;
  return c;
}

}  // namespace

void attach_data(compress::PipelineContext& ctx, const ir::Graph& model, const CompressData& d) {
  if (d.limit < 0) throw UserError("--limit: must be 0 (all) or more");
  if (!d.calibration.empty() && !d.calib_data.empty())
    throw UserError("--calibration and --calib-data: give one calibration source");
  if (d.data.empty() && d.calibration.empty() && d.calib_data.empty()) return;
  if (d.data.empty() && d.calibration.rfind("random:", 0) == 0) {  // any number of inputs
    ctx.calibration = [d, origin = ctx.origin](const ir::Graph& g, const compress::QuantSpec&) {
      return random_calibration(d.calibration, g, origin);
    };
    return;
  }
  const ModelPorts m = model_ports(model, ctx.origin);
  if (!d.data.empty()) {
    std::shared_ptr<train::Dataset> data = open_for(d.data, d, m);
    const int64_t batch = m.batch_dynamic ? kEvalBatch : m.shape[0];
    const std::string origin = ctx.origin, spec = d.data;
    const int64_t limit = d.limit;
    ctx.score = [data, batch, origin, spec, limit](const ir::Graph& g,
                                                   const runtime::SessionOptions& options) {
      runtime::SessionOptions o = options;
      o.origin = origin;
      o.infer.batch = batch;
      runtime::Session s(g, o);
      EvalOptions eo;
      eo.limit = limit;
      return evaluate(s, origin, *data, spec, eo).top1;
    };
    ctx.score_data = d.data;
    ctx.score_limit = d.limit;
    ctx.score_samples = d.limit > 0 ? std::min(d.limit, data->size()) : data->size();
    ctx.score_method = d.data + (d.limit ? ", first " + std::to_string(d.limit) + " samples" : "");
  }
  ctx.calibration = [d, m, origin = ctx.origin](const ir::Graph& g,
                                                const compress::QuantSpec& spec) {
    if (d.calibration.rfind("random:", 0) == 0) return random_calibration(d.calibration, g, origin);
    if (!d.calibration.empty()) return npy_calibration(d.calibration, m);
    return data_calibration(d, m, spec.samples > 0 ? spec.samples : kDefaultCalibrationSamples);
  };
}

}  // namespace frugal::measure
