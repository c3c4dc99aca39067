// The training loop: data (shuffled with the seed, augmented, split into train and
// validation), forward/loss/backward/update per mini-batch under a precision policy, an
// evaluation per epoch, and a checkpoint per epoch (written to a temporary file, then
// renamed) from which a run resumes bit-identically. Every random draw is a pure function
// of (seed, epoch, iteration, element) through Philox counters, so a run is deterministic
// for a seed and a thread count.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "frugal/ir/graph.h"
#include "frugal/train/autograd.h"
#include "frugal/train/data/dataset.h"
#include "frugal/train/halp.h"
#include "frugal/train/kfac.h"
#include "frugal/train/optimizer.h"
#include "frugal/train/precision.h"

namespace frugal::train {

struct Augment {
  int64_t crop_pad = 0;  // random crop of the original size after zero padding by this much
  bool flip = false;     // horizontal flip with probability 1/2
  // "crop:4,flip", "none" or ""; throws UserError naming --augment.
  static Augment parse(const std::string& spec);
};

struct TrainConfig {
  std::string data = "fashion-mnist";  // fashion-mnist: :train for training, :test for test
  std::string test_data;               // other data specs: optional test set
  // The default recipe (docs/training.md "Default recipe", chosen by measurement on
  // LeNet-5, resnet8_fmnist and mobilenet_fmnist): SGD, momentum 0.9, lr 0.05, cosine.
  int64_t epochs = 1;
  int64_t batch = 64;
  float lr = 0.05f;
  OptimizerConfig optimizer{.kind = OptimizerKind::kSgd, .momentum = 0.9f};
  KfacOptions kfac;  // optimizer kKfac (train/kfac.h)
  // HALP (train/halp.h): "" off, else "BITS[:EPOCH_LEN]"; mu sets the offset grids' range.
  std::string halp;
  float halp_mu = 1.0f;
  // After each epoch, the mean loss over all training samples (inference mode).
  bool full_loss = false;
  std::string lr_schedule = "cosine";
  uint64_t seed = 0;
  double val_split = 0;  // fraction of the training samples held out for validation
  Augment augment;
  int threads = 1;
  int64_t limit = 0;       // use only the first N training (and test) samples; 0: all
  int64_t stop_after = 0;  // stop after this many epochs of the run (0: run all)
  bool shuffle = true;     // false: the samples in file order every epoch (parity tests)
  std::string format, rounding, precision_schedule;
  std::string loss_scale = "none";
  KernelChoice kernels = kDefaultKernels;
  std::string checkpoint;  // written each epoch ("" : none)
  std::string resume;      // checkpoint to continue from ("" : start fresh)
  std::string datasets_root = "/usr/share/datasets";
  // Pruning while training (train/prune_schedule.h): "" none, else SPEC[:OPTIONS].
  std::string prune;
  std::string prune_exclude;  // layers never pruned (names, globs, first, last)
  // Quantization-aware training (train/qat.h): "" none, else the --qat spec.
  std::string qat;
  // "keep": fine-tune the centroids of shared weights, indices fixed (train/cluster_keep.h).
  std::string cluster;
  // Block-circulant layers from scratch (compress/circulant.h): "" none, else the --circulant
  // spec; the initial dense weights are projected, their spread kept. Excludes as --exclude.
  std::string circulant;
  std::string circulant_exclude;
  // Binary/ternary training with the straight-through estimator (train/binarize_train.h):
  // "" none, else the --binarize spec; excludes as --exclude; clip: shadow weights in [-1, 1].
  std::string binarize;
  std::string binarize_exclude;
  bool binarize_clip = false;
};

struct EpochStats {
  int64_t epoch = 0;  // 1-based
  double train_loss = 0, train_accuracy = 0;
  std::optional<double> val_accuracy, test_accuracy;
  double seconds = 0, images_per_second = 0;
  float lr = 0;                // at the epoch's last iteration
  std::string forward_format;  // under a precision schedule: the format(s) the epoch used
                               // ("e4m3", or "e4m1..e4m4" when a cyclic schedule varied it)
  int64_t skipped_steps = 0;   // dynamic loss scaling
  // Set once per run when the loss has not moved by 1% from the run's first steps to the
  // end of this epoch (a one-line warning with a hint; "" otherwise).
  std::string warning;
  float loss_scale = 1;
  std::optional<double> full_train_loss;  // --full-loss
};

// Progress callback: iteration done / iterations of the epoch, running loss.
using ProgressFn = std::function<void(int64_t epoch, int64_t done, int64_t total, double loss)>;

class PruneSchedule;  // train/prune_schedule.h
class QatState;       // train/qat.h
class ClusterKeep;    // train/cluster_keep.h
class BinarizeTrain;  // train/binarize_train.h

class Trainer {
 public:
  // Validates everything up front: the model (ops without backward), the data (shape
  // against the model input, classes against its output), schedules and formats.
  Trainer(ir::Graph model, TrainConfig config);
  ~Trainer();

  // Runs the remaining epochs; `on_epoch` is called after each one.
  void run(const std::function<void(const EpochStats&)>& on_epoch, const ProgressFn& progress = {});
  // Accuracy of the current weights in inference mode on a data set (top-1); with --qat
  // (once fake quantization has started) the accuracy of the exported QDQ model, with
  // --binarize that of the exported binary/ternary model.
  double evaluate(const Dataset& data, int64_t limit = 0);
  // The trained model in inference form (BatchNormalization with running statistics);
  // with --binarize the training graph (binarize()->float_model strips its STE nodes).
  const ir::Graph& model() const { return graph_->graph(); }
  const Dataset* test_set() const { return test_.get(); }
  const std::string& describe_data() const { return data_description_; }
  const PrecisionPolicy& policy() const { return policy_; }
  int64_t first_epoch() const { return start_epoch_ + 1; }
  // Learning rate of the last step run (read from the progress callback: per-step schedules).
  float step_lr() const { return step_lr_; }
  double step_loss() const { return step_loss_; }  // its mini-batch's mean loss
  // "" without --prune; else the schedule and the pruned layers' current sparsity.
  std::string prune_summary() const;
  // "" without --cluster keep; else the shared-weight layers kept.
  std::string cluster_summary() const;
  // --qat: the fake-quantization state (ranges learned so far; export_int8); else null.
  const QatState* qat() const { return qat_.get(); }
  // --binarize: the layers trained binary/ternary (export_binarized, float_model); else null.
  const BinarizeTrain* binarize() const { return binarize_.get(); }
  // --optimizer kfac: the preconditioner (factors, damping); else null.
  const Kfac* kfac() const { return kfac_.get(); }
  // "" without --halp; else the host/accelerator traffic and MAC shares so far.
  std::string halp_summary() const;
  // Mean loss of the current weights over all training samples (inference mode).
  double training_loss();

 private:
  void save_checkpoint(int64_t epochs_done) const;
  void load_checkpoint(const std::string& path);
  Tensor augment_batch(const Tensor& images, int64_t epoch, int64_t first_sample) const;
  std::string stall_warning(const std::vector<double>& step_losses, int64_t epoch);
  // One optimizer step over `grads` (parameter order), K-FAC's preconditioning and damping
  // adaptation included; `x`, `labels`: the step's batch (adaptation re-evaluates the loss).
  void apply_step(std::vector<Tensor>& grads, float lr, const Tensor& x, const Tensor& labels);

  TrainConfig config_;
  std::unique_ptr<TrainGraph> graph_;
  std::unique_ptr<Dataset> train_, test_;
  std::vector<int64_t> train_indices_, val_indices_;
  std::string data_description_;
  Optimizer optimizer_;
  LrSchedule schedule_;
  PrecisionPolicy policy_;
  PrecisionSchedule precision_schedule_;
  LossScaler scaler_;
  int64_t start_epoch_ = 0;  // epochs already done (from a checkpoint)
  uint64_t iteration_ = 0;   // global iteration counter (RNG streams)
  float step_lr_ = 0;
  double step_loss_ = 0;
  double stall_reference_ = -1;  // mean loss of the run's first steps (stall_warning)
  bool stall_warned_ = false;
  std::unique_ptr<PruneSchedule> prune_;     // --prune
  std::unique_ptr<QatState> qat_;            // --qat
  std::unique_ptr<ClusterKeep> cluster_;     // --cluster keep
  std::unique_ptr<BinarizeTrain> binarize_;  // --binarize
  std::unique_ptr<Kfac> kfac_;               // --optimizer kfac
  std::unique_ptr<Halp> halp_;               // --halp
  int64_t forward_macs_ = 0;                 // per sample (HALP's MAC counts)
  bool host_pass_ = false;                   // HALP's host pass: binary32, no policy rounding
  // HALP's host: the centre's full gradient over the training samples, then the recentre.
  void halp_recentre();
  Tensor loss_gradient(const Tensor& x, const Tensor& labels, bool training, double* loss);
  int64_t qat_epoch_ = 0;  // epoch whose start=/freeze= state applies
  Tensor qat_input(const Tensor& x, bool training);
  // --qat, fake quantization on: the exported QDQ model of the current weights and ranges,
  // run by evaluations (so the accuracy a run reports is the QDQ file's); else null.
  std::unique_ptr<TrainGraph> qat_exported_graph() const;
};

}  // namespace frugal::train
