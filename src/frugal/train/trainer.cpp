#include "frugal/train/trainer.h"

#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <sstream>

#include "frugal/compress/circulant.h"
#include "frugal/compress/prune.h"
#include "frugal/core/atomic_file.h"
#include "frugal/core/rng.h"
#include "frugal/kernels/emu/emu_gemm.h"
#include "frugal/kernels/threads.h"
#include "frugal/ops/cost.h"
#include "frugal/train/binarize_train.h"
#include "frugal/train/cluster_keep.h"
#include "frugal/train/prune_schedule.h"
#include "frugal/train/qat.h"

namespace frugal::train {
namespace {

// Philox streams of the trainer's random draws (each also keyed by the epoch).
constexpr uint64_t kShuffleStream = 0x5348554600000000ull;  // "SHUF"
constexpr uint64_t kAugmentStream = 0x4155474d00000000ull;  // "AUGM"
constexpr uint64_t kSplitStream = 0x53504c5400000000ull;    // "SPLT"

void shuffle(std::vector<int64_t>& v, const Philox& rng) {
  for (size_t i = v.size(); i > 1; --i) {
    const uint64_t j = rng.u32(i) % i;
    std::swap(v[i - 1], v[j]);
  }
}

bool all_finite(const Tensor& t) {
  for (float v : t.span<float>())
    if (!std::isfinite(v)) return false;
  return true;
}

Shape model_sample_shape(const ir::Graph& g) {
  const ir::ValueInfo& in = g.inputs.at(0);
  if (!in.shape || in.shape->size() != 4) return {};
  Shape s;
  for (size_t d = 1; d < 4; ++d) {
    if (!(*in.shape)[d].known()) return {};
    s.push_back((*in.shape)[d].value);
  }
  return s;
}

// Binary checkpoint I/O: little-endian PODs, length-prefixed strings and tensors.
struct Writer {
  std::ostream& os;
  template <typename T>
  void pod(T v) {
    os.write(reinterpret_cast<const char*>(&v), sizeof v);
  }
  void str(const std::string& s) {
    pod<uint64_t>(s.size());
    os.write(s.data(), static_cast<std::streamsize>(s.size()));
  }
  void tensor(const Tensor& t) {
    pod<uint8_t>(static_cast<uint8_t>(t.dtype()));
    pod<uint64_t>(t.shape().size());
    for (int64_t d : t.shape()) pod<int64_t>(d);
    os.write(static_cast<const char*>(t.raw()), static_cast<std::streamsize>(t.nbytes()));
  }
  void tensors(const std::map<std::string, Tensor>& m) {
    pod<uint64_t>(m.size());
    for (const auto& [name, t] : m) {
      str(name);
      tensor(t);
    }
  }
};

struct Reader {
  std::ifstream& is;
  const std::string& path;
  [[noreturn]] void bad(const std::string& why) const {
    throw UserError("--resume: checkpoint '" + path + "' is " + why);
  }
  template <typename T>
  T pod() {
    T v{};
    if (!is.read(reinterpret_cast<char*>(&v), sizeof v)) bad("truncated");
    return v;
  }
  std::string str() {
    const auto n = pod<uint64_t>();
    if (n > (1u << 20)) bad("corrupt (string length)");
    std::string s(n, '\0');
    if (!is.read(s.data(), static_cast<std::streamsize>(n))) bad("truncated");
    return s;
  }
  Tensor tensor() {
    const auto dt = static_cast<DType>(pod<uint8_t>());
    if (dt != DType::kF32 && dt != DType::kI64) bad("corrupt (dtype)");
    const auto rank = pod<uint64_t>();
    if (rank > 8) bad("corrupt (rank)");
    Shape s;
    for (uint64_t i = 0; i < rank; ++i) {
      s.push_back(pod<int64_t>());
      if (s.back() < 0 || s.back() > (int64_t{1} << 32)) bad("corrupt (shape)");
    }
    if (shape_numel(s) * static_cast<int64_t>(dtype_size(dt)) > (int64_t{1} << 33))
      bad("corrupt (size)");
    Tensor t(dt, s);
    if (!is.read(static_cast<char*>(t.raw()), static_cast<std::streamsize>(t.nbytes())))
      bad("truncated");
    return t;
  }
  std::map<std::string, Tensor> tensors() {
    const auto n = pod<uint64_t>();
    if (n > (1u << 20)) bad("corrupt (tensor count)");
    std::map<std::string, Tensor> m;
    for (uint64_t i = 0; i < n; ++i) {
      std::string name = str();
      m[name] = tensor();
    }
    return m;
  }
};

constexpr char kMagic[] = "FRUGAL-TRAIN-CKPT-1";
// Optional sections after the state, each behind its tag.
constexpr uint8_t kQatSection = 1, kKfacSection = 2, kHalpSection = 3, kBinarizeSection = 4;

Tensor unscaled(const Tensor& g, float scale) {
  if (scale == 1.0f) return g;
  Tensor u = g.clone();
  const float inv = 1.0f / scale;
  for (float& v : u.span<float>()) v *= inv;
  return u;
}

// The --qat section of a checkpoint: the spec (must match) and the learned ranges.
void load_qat_section(Reader& r, QatState& qat) {
  {
    const std::string spec = r.str();
    if (spec != qat.spec().name())
      throw UserError("--resume: checkpoint '" + r.path + "' was made with --qat " + spec +
                      ", not " + qat.spec().name());
    const auto samples = r.pod<int64_t>();
    const auto n = r.pod<uint64_t>();
    if (n > (1u << 20)) r.bad("corrupt (QAT ranges)");
    std::map<std::string, QatRange> ranges;
    for (uint64_t i = 0; i < n; ++i) {
      const std::string name = r.str();
      QatRange q;
      q.min = r.pod<float>();
      q.max = r.pod<float>();
      q.seen = r.pod<uint8_t>() != 0;
      ranges[name] = q;
    }
    qat.restore(std::move(ranges), samples);
  }
}

}  // namespace

Augment Augment::parse(const std::string& spec) {
  Augment a;
  if (spec.empty() || spec == "none") return a;
  std::stringstream ss(spec);
  std::string item;
  while (std::getline(ss, item, ',')) {
    if (item == "flip") {
      a.flip = true;
    } else if (item.rfind("crop:", 0) == 0) {
      size_t used = 0;
      long long v = -1;
      try {
        v = std::stoll(item.substr(5), &used);
      } catch (const std::exception&) {
        used = 0;
      }
      if (used == 0 || used != item.size() - 5 || v < 0 || v > 64)
        throw UserError("--augment: '" + item + "' needs a padding of 0 to 64 pixels (crop:4)");
      a.crop_pad = v;
    } else {
      throw UserError("--augment: unknown augmentation '" + item + "' (crop:PAD, flip, none)");
    }
  }
  return a;
}

namespace {

// --circulant: CirCNN trained from scratch. The projection of random weights averages b of
// them, so each layer is rescaled to the dense initializer's spread.
ir::Graph circulant_layers(const ir::Graph& model, const TrainConfig& config) {
  compress::CirculantSpec spec = compress::parse_circulant_spec(config.circulant);
  spec.keep_scale = true;
  if (!config.circulant_exclude.empty()) {
    compress::PruneSpec excludes;
    excludes.add_excludes(config.circulant_exclude);
    spec.exclude = excludes.exclude;
  }
  return compress::circulant(model, spec).graph;
}

// --binarize's spec as a checkpoint records it (layers excluded and clipping included).
std::string binarize_name(const BinarizeTrain& b) {
  std::string name = b.spec().str();
  for (const auto& e : b.spec().exclude) name += ",exclude=" + e;
  return b.clip() ? name + ",clip" : name;
}

// --binarize: refused next to the other weight transforms (each would fight the other over
// the same weights), then the layers are chosen on the float model.
std::unique_ptr<BinarizeTrain> binarize_state(const ir::Graph& model, const TrainConfig& config) {
  const std::pair<const std::string*, const char*> conflicts[] = {
      {&config.qat, "--qat"},
      {&config.circulant, "--circulant"},
      {&config.cluster, "--cluster"},
      {&config.prune, "--prune"}};
  for (const auto& [value, flag] : conflicts)
    if (!value->empty())
      throw UserError("--binarize cannot be combined with " + std::string(flag) +
                      " (both rewrite the same weights)");
  compress::BinarizeSpec spec = compress::parse_binarize_spec(config.binarize);
  if (!config.binarize_exclude.empty()) {
    compress::PruneSpec excludes;
    excludes.add_excludes(config.binarize_exclude);
    spec.exclude = excludes.exclude;
  }
  return std::make_unique<BinarizeTrain>(spec, config.binarize_clip, model);
}

}  // namespace

Trainer::Trainer(ir::Graph model, TrainConfig config)
    : config_(std::move(config)),
      optimizer_(config_.optimizer),
      schedule_(LrSchedule::parse(config_.lr_schedule)),
      policy_(PrecisionPolicy::parse(config_.format, config_.rounding, config_.seed)),
      precision_schedule_(PrecisionSchedule::parse(config_.precision_schedule)),
      scaler_(LossScaler::parse(config_.loss_scale)) {
  if (config_.epochs < 1) throw UserError("--epochs must be at least 1");
  if (config_.batch < 1) throw UserError("--batch must be at least 1");
  if (!(config_.lr > 0) || !std::isfinite(config_.lr))
    throw UserError("--lr must be a positive number");
  if (!(config_.val_split >= 0 && config_.val_split < 1))
    throw UserError("--val-split must be in [0, 1)");
  if (config_.limit < 0) throw UserError("--limit must be >= 0");
  if (config_.optimizer.kind == OptimizerKind::kKfac) validate(config_.kfac);  // before the data
  std::optional<HalpSpec> halp_spec;
  if (!config_.halp.empty()) {
    halp_spec = HalpSpec::parse(config_.halp);
    if (config_.optimizer.kind != OptimizerKind::kSgd)
      throw UserError("--halp runs its own SVRG steps: it takes --optimizer sgd (the default)");
  }
  std::optional<QatSpec> qat_spec;  // --qat: checked before the data are read
  if (!config_.qat.empty()) {
    qat_spec = QatSpec::parse(config_.qat);
    if (policy_.of(TensorClass::kWeight).format || policy_.of(TensorClass::kActivation).format ||
        precision_schedule_.active())
      throw UserError(
          "--qat: the forward formats (--format W=/A=, --precision-schedule) would "
          "round what int8 fake quantization rounds; keep --format to E=/G=/M=/ACC=");
    if (qat_spec->start >= config_.epochs)
      throw UserError("--qat: start=" + std::to_string(qat_spec->start) +
                      " leaves no epoch of QAT in --epochs " + std::to_string(config_.epochs));
  }
  if (qat_spec)  // QAT maps the export's layers back by node name: name the unnamed ones
    for (auto& n : model.nodes)
      if (n.name.empty()) n.name = model.unique_name(n.op_type + "_qat");
  if (!config_.binarize.empty()) {
    binarize_ = binarize_state(model, config_);
    model = binarize_->training_graph(std::move(model));
  } else if (!config_.binarize_exclude.empty() || config_.binarize_clip) {
    throw UserError("--binarize-exclude and --binarize-clip need --binarize");
  }
  if (!config_.circulant.empty()) model = circulant_layers(model, config_);
  const std::string model_name = model.name.empty() ? "the model" : "model '" + model.name + "'";
  GraphOptions gopt;
  gopt.kernels = config_.kernels;
  gopt.accumulator = policy_.accumulator();
  gopt.seed = config_.seed;
  graph_ = std::make_unique<TrainGraph>(std::move(model), gopt);
  if (halp_spec) {
    if (graph_->params().empty())
      throw UserError("--halp: " + model_name + " has no trainable layers");
    halp_ = std::make_unique<Halp>(*halp_spec, config_.halp_mu, graph_->params(),
                                   numeric::Rounding::stochastic(config_.seed));
    const ir::Graph& g = graph_->graph();
    forward_macs_ = ops::analyze_cost(g, ops::infer_graph(g)).total.macs;
  }

  DataOptions dopt;
  dopt.datasets_root = config_.datasets_root;
  dopt.expected_sample_shape = model_sample_shape(graph_->graph());
  std::string train_spec = config_.data, test_spec = config_.test_data;
  if (config_.data == "fashion-mnist") {
    train_spec = "fashion-mnist:train";
    if (test_spec.empty()) test_spec = "fashion-mnist:test";
  }
  auto open = [&](const std::string& spec) {
    try {
      return open_dataset(spec, dopt);
    } catch (const UserError& e) {
      throw UserError(std::string(e.what()) + " (" + model_name + " input '" +
                      graph_->input_name() + "' takes " +
                      (dopt.expected_sample_shape.empty() ? std::string("any shape")
                                                          : shape_str(dopt.expected_sample_shape)) +
                      ")");
    }
  };
  train_ = open(train_spec);
  if (!test_spec.empty()) test_ = open(test_spec);
  data_description_ = train_->describe();

  // Classes: the model's output width must cover the data set's labels.
  const Shape sample = train_->sample_shape();
  Shape probe_shape{1};
  probe_shape.insert(probe_shape.end(), sample.begin(), sample.end());
  const Tensor logits = graph_->forward(Tensor(DType::kF32, probe_shape), false);
  if (logits.rank() != 2)
    throw UserError("--data: " + model_name + " output '" + graph_->output_name() + "' is " +
                    shape_str(logits.shape()) + ", not [batch, classes]");
  if (logits.dim(1) < train_->num_classes())
    throw UserError("--data: the data set has " + std::to_string(train_->num_classes()) +
                    " classes but " + model_name + " outputs " + std::to_string(logits.dim(1)));

  int64_t n = train_->size();
  if (config_.limit > 0) n = std::min(n, config_.limit);
  train_indices_.resize(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) train_indices_[static_cast<size_t>(i)] = i;
  if (config_.val_split > 0) {
    shuffle(train_indices_, Philox(config_.seed, kSplitStream));
    const auto val = static_cast<size_t>(std::llround(config_.val_split * static_cast<double>(n)));
    val_indices_.assign(train_indices_.end() - static_cast<std::ptrdiff_t>(val),
                        train_indices_.end());
    train_indices_.resize(train_indices_.size() - val);
  }
  if (train_indices_.empty()) throw UserError("--data: no training samples left");

  if (qat_spec) qat_ = std::make_unique<QatState>(*qat_spec, graph_->graph(), graph_->params());
  if (config_.optimizer.kind == OptimizerKind::kKfac) {
    kfac_ = std::make_unique<Kfac>(graph_->graph(), graph_->params(), config_.kfac, config_.seed);
    if (kfac_->layers() == 0)
      throw UserError("--optimizer kfac: " + model_name +
                      " has no trainable Gemm or Conv layer to precondition");
  }
  const bool rounds = policy_.active() || precision_schedule_.active();
  if (rounds || qat_ || kfac_ || binarize_)
    graph_->set_hook([this, rounds](TensorClass cls, const std::string& name, Tensor& t) {
      if (binarize_) binarize_->apply(cls, name, t);
      if (rounds && !host_pass_) policy_.apply(cls, name, t, iteration_);
      if (qat_) qat_->apply(cls, name, t, graph_->graph());
      if (kfac_ && cls != TensorClass::kWeight && cls != TensorClass::kGradient &&
          kfac_->wants(name))
        kfac_->capture(name, t, cls == TensorClass::kError);
    });
  if (!config_.resume.empty()) load_checkpoint(config_.resume);
  qat_epoch_ = std::max<int64_t>(start_epoch_ - 1, 0);
  if (!config_.prune.empty()) {
    const int64_t iters =
        (static_cast<int64_t>(train_indices_.size()) + config_.batch - 1) / config_.batch;
    prune_ = std::make_unique<PruneSchedule>(config_.prune, config_.prune_exclude, graph_->graph(),
                                             graph_->params(), iters, config_.epochs);
    prune_->resume(static_cast<int64_t>(iteration_),
                   [this](const std::string& p) -> Tensor& { return graph_->param(p); });
  }
  if (!config_.cluster.empty()) {
    if (config_.cluster != "keep")
      throw UserError("--cluster '" + config_.cluster + "': frugal train takes keep");
    cluster_ = std::make_unique<ClusterKeep>(graph_->graph(), graph_->params());
  }
}

std::string Trainer::cluster_summary() const {
  return cluster_ ? cluster_->describe() : "";
}

std::string Trainer::prune_summary() const {
  if (!prune_) return "";
  char b[64];
  std::snprintf(b, sizeof(b), "; pruned layers at %.2f%% zeros",
                100.0 * prune_->current_sparsity());
  return prune_->describe() + b;
}

Trainer::~Trainer() = default;

std::unique_ptr<TrainGraph> Trainer::qat_exported_graph() const {
  if (!qat_ || qat_epoch_ < qat_->spec().start) return nullptr;
  // The QDQ graph (BatchNorm folded, Q/DQ pairs, int8 weights) has nothing to train: a
  // TrainGraph runs its forward with the training kernels.
  GraphOptions o = graph_->options();
  o.input_grad = false;
  return std::make_unique<TrainGraph>(qat_->export_int8(graph_->graph()).graph, o);
}

Tensor Trainer::qat_input(const Tensor& x, bool training) {
  if (!qat_) return x;
  qat_->begin_forward(training, qat_epoch_);
  return qat_->input(graph_->input_name(), x);
}

std::string Trainer::stall_warning(const std::vector<double>& step_losses, int64_t epoch) {
  // Mean losses of the first tenth of the run's steps and of the epoch's last tenth: when
  // they differ by less than 1% the run is not learning (a learning rate far too low, or an
  // initialization that makes the logits vanish: issue 26).
  const size_t k = std::max<size_t>(1, step_losses.size() / 10);
  auto mean = [&](size_t from) {
    double s = 0;
    for (size_t i = from; i < from + k; ++i) s += step_losses[i];
    return s / static_cast<double>(k);
  };
  const bool first = stall_reference_ < 0;
  if (first) stall_reference_ = mean(0);
  if (stall_warned_ || (first && step_losses.size() < 2 * k)) return "";
  const double now = mean(step_losses.size() - k);
  if (!(std::abs(now - stall_reference_) < 0.01 * stall_reference_)) return "";
  stall_warned_ = true;
  char b[256];
  std::snprintf(b, sizeof b,
                "the loss has not moved by 1%% after epoch %lld (%.4f -> %.4f); hint: raise "
                "--lr, or check the model's initialization",
                static_cast<long long>(epoch + 1), stall_reference_, now);
  return b;
}

Tensor Trainer::augment_batch(const Tensor& images, int64_t epoch, int64_t first_sample) const {
  const Augment& a = config_.augment;
  if (a.crop_pad == 0 && !a.flip) return images;
  const int64_t n = images.dim(0), c = images.dim(1), h = images.dim(2), w = images.dim(3);
  Tensor out(DType::kF32, images.shape());
  const Philox rng(config_.seed, kAugmentStream + static_cast<uint64_t>(epoch));
  const float* src = images.data<float>();
  float* dst = out.data<float>();
  for (int64_t b = 0; b < n; ++b) {
    const auto block = rng.block(static_cast<uint64_t>(first_sample + b));
    const int64_t span = 2 * a.crop_pad + 1;
    const int64_t dy = a.crop_pad ? static_cast<int64_t>(block[0] % span) - a.crop_pad : 0;
    const int64_t dx = a.crop_pad ? static_cast<int64_t>(block[1] % span) - a.crop_pad : 0;
    const bool flip = a.flip && (block[2] & 1u);
    for (int64_t ch = 0; ch < c; ++ch) {
      const float* s = src + (b * c + ch) * h * w;
      float* d = dst + (b * c + ch) * h * w;
      for (int64_t y = 0; y < h; ++y)
        for (int64_t x = 0; x < w; ++x) {
          const int64_t sy = y + dy, sx0 = x + dx;
          const int64_t sx = flip ? w - 1 - sx0 : sx0;
          d[y * w + x] = (sy >= 0 && sy < h && sx >= 0 && sx < w) ? s[sy * w + sx] : 0.0f;
        }
    }
  }
  return out;
}

double Trainer::evaluate(const Dataset& data, int64_t limit) {
  if (policy_.accumulator()) kernels::emu::set_emu_threads(config_.threads);
  int64_t n = data.size();
  if (limit > 0) n = std::min(n, limit);
  std::vector<int64_t> idx(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) idx[static_cast<size_t>(i)] = i;
  if (binarize_)  // the exported binary/ternary model's accuracy
    return binarize_->accuracy(graph_->graph(), data, idx, std::max<int64_t>(config_.batch, 256),
                               config_.threads);
  const std::unique_ptr<TrainGraph> exported = qat_exported_graph();
  return [&] {
    int64_t correct = 0;
    const int64_t eb = std::max<int64_t>(config_.batch, 256);
    Tensor images, labels;
    for (int64_t b = 0; b < n; b += eb) {
      const int64_t cnt = std::min(eb, n - b);
      data.get_batch(std::span<const int64_t>(idx.data() + b, static_cast<size_t>(cnt)), images,
                     labels);
      const Tensor logits = exported ? exported->forward(images, false)
                                     : graph_->forward(qat_input(images, false), false);
      correct += softmax_cross_entropy(logits, labels).correct;
    }
    return n ? static_cast<double>(correct) / static_cast<double>(n) : 0.0;
  }();
}

void Trainer::run(const std::function<void(const EpochStats&)>& on_epoch,
                  const ProgressFn& progress) {
  kernels::set_threads(config_.threads);
  if (policy_.accumulator()) kernels::emu::set_emu_threads(config_.threads);
  const int64_t total = config_.epochs;
  int64_t run_epochs = 0;
  const int64_t iters =
      (static_cast<int64_t>(train_indices_.size()) + config_.batch - 1) / config_.batch;
  for (int64_t epoch = start_epoch_; epoch < total; ++epoch) {
    if (config_.stop_after > 0 && run_epochs >= config_.stop_after) break;
    const auto t0 = std::chrono::steady_clock::now();
    std::vector<int64_t> order = train_indices_;
    if (config_.shuffle)
      shuffle(order, Philox(config_.seed, kShuffleStream + static_cast<uint64_t>(epoch)));
    EpochStats st;
    st.epoch = epoch + 1;
    qat_epoch_ = epoch;
    double loss_sum = 0;
    std::vector<double> step_losses;
    int64_t correct = 0, seen = 0;
    FormatRange formats_used;
    Tensor images, labels;
    for (int64_t it = 0; it < iters; ++it) {
      const int64_t begin = it * config_.batch;
      const int64_t cnt =
          std::min<int64_t>(config_.batch, static_cast<int64_t>(order.size()) - begin);
      train_->get_batch(std::span<const int64_t>(order.data() + begin, static_cast<size_t>(cnt)),
                        images, labels);
      const Tensor x = augment_batch(images, epoch, begin);
      // Progress in epochs at the start and at the end of this step: the step belongs to
      // epoch `epoch`, so its start lies in [epoch, epoch + 1) (what the precision schedules
      // read); the learning-rate curves are sampled at its end (LrSchedule::lr).
      const double step_start =
          static_cast<double>(epoch) + static_cast<double>(it) / static_cast<double>(iters);
      const double step_end =
          static_cast<double>(epoch) + static_cast<double>(it + 1) / static_cast<double>(iters);
      const float lr = schedule_.lr(config_.lr, step_end, total);
      step_lr_ = lr;
      if (precision_schedule_.active()) {
        const numeric::NumberFormat f = precision_schedule_.format_at(step_start, total);
        policy_.set_forward_format(
            f == numeric::NumberFormat{} ? std::nullopt : std::optional<numeric::NumberFormat>(f));
        formats_used.add(f);
      }
      if (halp_ &&
          halp_->recentre_due(halp_->spec().epoch_len > 0 ? halp_->spec().epoch_len : iters))
        halp_recentre();
      const Tensor x_in = qat_input(x, true);
      if (kfac_ && kfac_->begin_step(iteration_)) kfac_->capture(graph_->input_name(), x_in, false);
      const Tensor logits = graph_->forward(x_in, true, iteration_);
      const LossResult loss = softmax_cross_entropy(logits, labels, scaler_.scale());
      if (!std::isfinite(loss.loss)) {
        std::string culprit = graph_->first_non_finite();
        if (culprit.empty()) culprit = "the loss itself (logits overflow the softmax)";
        throw UserError("training diverged: non-finite loss at epoch " + std::to_string(epoch + 1) +
                        " iteration " + std::to_string(it + 1) +
                        "; first non-finite tensor: " + culprit +
                        "; hint: lower --lr, or use --loss-scale dynamic / a wider --format");
      }
      graph_->backward(loss.d_logits);
      std::vector<Tensor> grads;
      bool finite = true;
      for (const auto& p : graph_->params()) {
        Tensor g = unscaled(graph_->grad(p), scaler_.scale());
        if (finite && !all_finite(g)) {
          finite = false;
          if (!scaler_.is_dynamic())
            throw UserError(
                "training diverged: non-finite gradient of weight '" + p + "' at epoch " +
                std::to_string(epoch + 1) + " iteration " + std::to_string(it + 1) +
                "; hint: lower --lr, or use --loss-scale dynamic / a wider --format E=/G=");
        }
        grads.push_back(g);
      }
      if (scaler_.update(finite)) {
        apply_step(grads, lr, x_in, labels);
      } else {
        ++st.skipped_steps;
      }
      if (prune_)  // masks after every step, skipped or not (train/prune_schedule.h)
        prune_->after_step(
            static_cast<int64_t>(iteration_),
            [this](const std::string& p) -> Tensor& { return graph_->param(p); },
            &optimizer_.state());
      ++iteration_;
      step_loss_ = loss.loss;
      step_losses.push_back(loss.loss);
      loss_sum += loss.loss * static_cast<double>(cnt);
      correct += loss.correct;
      seen += cnt;
      st.lr = lr;
      if (progress) progress(epoch + 1, it + 1, iters, loss_sum / static_cast<double>(seen));
    }
    st.forward_format = formats_used.describe();
    const double train_seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    st.train_loss = loss_sum / static_cast<double>(std::max<int64_t>(seen, 1));
    st.warning = stall_warning(step_losses, epoch);
    st.train_accuracy =
        static_cast<double>(correct) / static_cast<double>(std::max<int64_t>(seen, 1));
    st.images_per_second = train_seconds > 0 ? static_cast<double>(seen) / train_seconds : 0;
    st.loss_scale = scaler_.scale();
    if (!val_indices_.empty() && binarize_) {
      st.val_accuracy =
          binarize_->accuracy(graph_->graph(), *train_, val_indices_, 256, config_.threads);
    } else if (!val_indices_.empty()) {
      const std::unique_ptr<TrainGraph> exported = qat_exported_graph();
      int64_t vc = 0;
      Tensor vi, vl;
      for (size_t b = 0; b < val_indices_.size(); b += 256) {
        const size_t cnt = std::min<size_t>(256, val_indices_.size() - b);
        train_->get_batch(std::span<const int64_t>(val_indices_.data() + b, cnt), vi, vl);
        const Tensor logits =
            exported ? exported->forward(vi, false) : graph_->forward(qat_input(vi, false), false);
        vc += softmax_cross_entropy(logits, vl).correct;
      }
      st.val_accuracy = static_cast<double>(vc) / static_cast<double>(val_indices_.size());
    }
    if (test_) st.test_accuracy = evaluate(*test_, config_.limit);
    if (config_.full_loss) st.full_train_loss = training_loss();
    precision_schedule_.end_epoch(st.train_loss);
    st.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    start_epoch_ = epoch + 1;
    ++run_epochs;
    if (!config_.checkpoint.empty()) save_checkpoint(start_epoch_);
    if (on_epoch) on_epoch(st);
  }
}

void Trainer::apply_step(std::vector<Tensor>& grads, float lr, const Tensor& x,
                         const Tensor& labels) {
  const std::vector<std::string>& params = graph_->params();
  // K-FAC's damping adaptation compares the loss before and after the step on this batch
  // (inference mode, so BatchNorm's running statistics are left alone) with the model's
  // prediction M(d).
  if (halp_) {  // SVRG inner step: the same batch's gradient at the centre too
    std::map<std::string, Tensor*> weights;
    std::map<std::string, const Tensor*> g1, g0;
    std::vector<Tensor> at_centre;
    for (const auto& p : params) {
      graph_->param(p) = halp_->centre(p).clone();
      weights[p] = &graph_->param(p);
    }
    loss_gradient(x, labels, true, nullptr);
    for (const auto& p : params) at_centre.push_back(unscaled(graph_->grad(p), scaler_.scale()));
    for (size_t k = 0; k < params.size(); ++k) {
      g1[params[k]] = &grads[k];
      g0[params[k]] = &at_centre[k];
    }
    halp_->inner_step(weights, g1, g0, lr, x.dim(0), forward_macs_);
    return;
  }
  const bool adapt = kfac_ && kfac_->adapt_due(iteration_);
  std::map<std::string, Tensor> raw_grads, before;
  double loss_before = 0;
  if (kfac_) {
    std::map<std::string, Tensor*> by_name;
    for (size_t k = 0; k < grads.size(); ++k) {
      by_name[params[k]] = &grads[k];
      if (adapt) raw_grads[params[k]] = grads[k];
    }
    kfac_->precondition(by_name, lr, scaler_.scale());
    if (adapt) {
      loss_before = softmax_cross_entropy(graph_->forward(x, false), labels).loss;
      for (const auto& p : params) before[p] = graph_->param(p).clone();
    }
  }
  optimizer_.begin_step();
  for (size_t k = 0; k < grads.size(); ++k) {
    const std::string& p = params[k];
    Tensor& w = graph_->param(p);
    if (cluster_) cluster_->tie_gradient(p, grads[k]);
    optimizer_.update(p, w, grads[k], lr);
    if (cluster_) cluster_->snap(p, w);
    if (binarize_) binarize_->after_step(p, w);
    if (policy_.master_in_weight_format() || policy_.master().format) {
      policy_.apply_master(p, w, iteration_);
      auto& state = optimizer_.state()[p];
      for (size_t s = 0; s < state.size(); ++s)
        policy_.apply_master(p + "#state" + std::to_string(s), state[s], iteration_);
    }
  }
  if (adapt) {
    const double loss_after = softmax_cross_entropy(graph_->forward(x, false), labels).loss;
    std::map<std::string, Tensor> delta;
    for (const auto& p : params) {
      Tensor d = graph_->param(p).clone();
      const float* b = before.at(p).data<float>();
      for (int64_t i = 0; i < d.numel(); ++i) d.data<float>()[i] -= b[i];
      delta[p] = d;
    }
    kfac_->adapt(loss_before, loss_after, kfac_->quadratic_model(raw_grads, delta));
  }
}

Tensor Trainer::loss_gradient(const Tensor& x, const Tensor& labels, bool training, double* loss) {
  const LossResult r = softmax_cross_entropy(graph_->forward(x, training, iteration_), labels,
                                             training ? scaler_.scale() : 1.0f);
  if (loss) *loss = r.loss;
  if (training) graph_->backward(r.d_logits);
  return r.d_logits;
}

double Trainer::training_loss() {
  double sum = 0;
  Tensor images, labels;
  const size_t eb = static_cast<size_t>(std::max<int64_t>(config_.batch, 256));
  for (size_t b = 0; b < train_indices_.size(); b += eb) {
    const size_t cnt = std::min(eb, train_indices_.size() - b);
    train_->get_batch(std::span<const int64_t>(train_indices_.data() + b, cnt), images, labels);
    double l = 0;
    loss_gradient(images, labels, false, &l);
    sum += l * static_cast<double>(cnt);
  }
  return sum / static_cast<double>(train_indices_.size());
}

void Trainer::halp_recentre() {
  // The host's pass in binary32 over every training sample, in file order.
  host_pass_ = true;
  const std::vector<std::string>& params = graph_->params();
  std::map<std::string, Tensor> full;
  for (const auto& p : params) full[p] = Tensor(DType::kF32, graph_->param(p).shape());
  const auto n = static_cast<int64_t>(train_indices_.size());
  Tensor images, labels;
  for (int64_t b = 0; b < n; b += config_.batch) {
    const int64_t cnt = std::min<int64_t>(config_.batch, n - b);
    train_->get_batch(std::span<const int64_t>(train_indices_.data() + b, static_cast<size_t>(cnt)),
                      images, labels);
    loss_gradient(images, labels, true, nullptr);
    const float w = static_cast<float>(cnt) / static_cast<float>(n) / scaler_.scale();
    for (const auto& p : params) {
      float* dst = full[p].data<float>();
      const float* g = graph_->grad(p).data<float>();
      for (int64_t i = 0; i < full[p].numel(); ++i) dst[i] += w * g[i];
    }
  }
  host_pass_ = false;
  std::map<std::string, const Tensor*> weights;
  for (const auto& p : params) weights[p] = &graph_->param(p);
  halp_->recentre(weights, full, n, forward_macs_);
}

std::string Trainer::halp_summary() const {
  if (!halp_) return "";
  const auto& w = policy_.of(TensorClass::kWeight).format;
  return halp_->describe(w ? numeric::to_string(*w) : "fp32");
}

void Trainer::save_checkpoint(int64_t epochs_done) const {
  std::ostringstream os(std::ios::binary);
  {
    Writer w{os};
    os.write(kMagic, sizeof kMagic);
    w.pod<uint64_t>(config_.seed);
    w.pod<int64_t>(epochs_done);
    w.pod<uint64_t>(iteration_);
    w.pod<int64_t>(optimizer_.steps());
    w.pod<float>(scaler_.scale());
    w.pod<int64_t>(scaler_.good_steps());
    w.pod<int32_t>(precision_schedule_.adaptive_bits());
    w.pod<double>(precision_schedule_.best_loss());
    w.pod<int32_t>(precision_schedule_.stalled());
    const auto& inits = graph_->graph().initializers;
    w.pod<uint64_t>(inits.size());
    for (const auto& [name, t] : inits) {
      w.str(name);
      w.tensor(t);
    }
    auto& state = const_cast<Optimizer&>(optimizer_).state();
    w.pod<uint64_t>(state.size());
    for (const auto& [name, ts] : state) {
      w.str(name);
      w.pod<uint64_t>(ts.size());
      for (const Tensor& t : ts) w.tensor(t);
    }
    // Optional sections, each behind a tag: 1 QAT, 2 K-FAC.
    if (qat_) {  // --qat: the spec and the ranges (absent without --qat)
      w.pod<uint8_t>(kQatSection);
      w.str(qat_->spec().name());
      w.pod<int64_t>(qat_->observed_samples());
      w.pod<uint64_t>(qat_->ranges().size());
      for (const auto& [name, r] : qat_->ranges()) {
        w.str(name);
        w.pod<float>(r.min);
        w.pod<float>(r.max);
        w.pod<uint8_t>(r.seen ? 1 : 0);
      }
    }
    if (kfac_) {  // --optimizer kfac: factors, inverses, damping
      w.pod<uint8_t>(kKfacSection);
      w.tensors(kfac_->state());
    }
    if (halp_) {  // --halp: centre, full gradient, offsets, scales, counters
      w.pod<uint8_t>(kHalpSection);
      w.tensors(halp_->state());
    }
    if (binarize_) {  // --binarize: the spec (the shadow weights are the initializers)
      w.pod<uint8_t>(kBinarizeSection);
      w.str(binarize_name(*binarize_));
    }
  }
  // Whole or not at all, even when the process is killed mid-write (core/atomic_file.h).
  try {
    write_file_atomically(config_.checkpoint, os.str());
  } catch (const UserError& e) {
    throw UserError(std::string("--checkpoint: ") + e.what());
  }
}

void Trainer::load_checkpoint(const std::string& path) {
  std::ifstream is(path, std::ios::binary);
  if (!is) throw UserError("--resume: cannot open checkpoint '" + path + "'");
  Reader r{is, path};
  char magic[sizeof kMagic];
  if (!is.read(magic, sizeof magic) ||
      std::string(magic, sizeof magic) != std::string(kMagic, sizeof kMagic))
    r.bad("not a frugal training checkpoint");
  const auto seed = r.pod<uint64_t>();
  if (seed != config_.seed)
    throw UserError("--resume: checkpoint '" + path + "' was made with --seed " +
                    std::to_string(seed) + ", not " + std::to_string(config_.seed));
  start_epoch_ = r.pod<int64_t>();
  if (start_epoch_ < 0 || start_epoch_ > config_.epochs)
    r.bad("for another run (epoch " + std::to_string(start_epoch_) + " beyond --epochs)");
  iteration_ = r.pod<uint64_t>();
  optimizer_.set_steps(r.pod<int64_t>());
  const auto scale = r.pod<float>();
  const auto good = r.pod<int64_t>();
  scaler_.restore(scale, good);
  const auto bits = r.pod<int32_t>();
  const auto best = r.pod<double>();
  const auto stalled = r.pod<int32_t>();
  precision_schedule_.restore(bits, best, stalled);
  const auto count = r.pod<uint64_t>();
  auto& inits = const_cast<ir::Graph&>(graph_->graph()).initializers;
  if (count != inits.size()) r.bad("for another model (" + std::to_string(count) + " tensors)");
  for (uint64_t i = 0; i < count; ++i) {
    const std::string name = r.str();
    Tensor t = r.tensor();
    auto it = inits.find(name);
    if (it == inits.end() || it->second.shape() != t.shape() || it->second.dtype() != t.dtype())
      r.bad("for another model (tensor '" + name + "')");
    it->second = t;
  }
  const auto states = r.pod<uint64_t>();
  if (states > inits.size()) r.bad("corrupt (optimizer state)");
  for (uint64_t i = 0; i < states; ++i) {
    const std::string name = r.str();
    const auto k = r.pod<uint64_t>();
    if (k > 4) r.bad("corrupt (optimizer state)");
    std::vector<Tensor> ts;
    for (uint64_t j = 0; j < k; ++j) ts.push_back(r.tensor());
    optimizer_.state()[name] = ts;
  }
  bool has_qat = false, has_kfac = false, has_halp = false, has_binarize = false;
  while (is.peek() != std::ifstream::traits_type::eof()) {
    const auto tag = r.pod<uint8_t>();
    if (tag == kQatSection && qat_ && !has_qat) {
      has_qat = true;
      load_qat_section(r, *qat_);
    } else if (tag == kKfacSection && kfac_ && !has_kfac) {
      has_kfac = true;
      kfac_->restore(r.tensors());
    } else if (tag == kHalpSection && halp_ && !has_halp) {
      has_halp = true;
      halp_->restore(r.tensors());
    } else if (tag == kBinarizeSection && binarize_ && !has_binarize) {
      has_binarize = true;
      if (const std::string spec = r.str(); spec != binarize_name(*binarize_))
        throw UserError("--resume: checkpoint '" + path + "' was made with --binarize " + spec +
                        ", not " + binarize_name(*binarize_));
    } else if (tag == kBinarizeSection) {
      throw UserError("--resume: checkpoint '" + path +
                      "' was made with --binarize; give the same --binarize");
    } else if (tag == kQatSection || tag == kKfacSection || tag == kHalpSection) {
      throw UserError("--resume: checkpoint '" + path + "' was made with " +
                      (tag == kQatSection    ? "--qat; give the same --qat"
                       : tag == kKfacSection ? "--optimizer kfac; give the same optimizer"
                                             : "--halp; give the same --halp"));
    } else {
      r.bad("corrupt (section tag)");
    }
  }
  if (qat_ && !has_qat)
    throw UserError("--resume: checkpoint '" + path + "' was made without --qat");
  if (kfac_ && !has_kfac)
    throw UserError("--resume: checkpoint '" + path + "' was made without --optimizer kfac");
  if (binarize_ && !has_binarize)
    throw UserError("--resume: checkpoint '" + path + "' was made without --binarize");
  if (halp_ && !has_halp)
    throw UserError("--resume: checkpoint '" + path + "' was made without --halp");
}

}  // namespace frugal::train
