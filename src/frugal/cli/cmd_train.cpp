// frugal train MODEL.onnx|ZOO_NAME --data fashion-mnist -o OUT.onnx: trains a CNN with
// the autograd engine of src/frugal/train, optionally in emulated low precision, and
// writes the result in inference form. A checkpoint is written each epoch.
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

#include "frugal/cli/command.h"
#include "frugal/cli/common.h"
#include "frugal/ir/onnx_io.h"
#include "frugal/measure/train_run.h"
#include "frugal/runtime/calibrate.h"
#include "frugal/train/binarize_train.h"
#include "frugal/train/qat.h"
#include "frugal/train/trainer.h"
#include "frugal/zoo/zoo.h"

namespace frugal::cli {
namespace {

struct TrainArgs {
  std::string model, output, log, optimizer = "sgd", augment, resume, checkpoint, kernels = "fast";
  train::TrainConfig config;
  bool json = false, nesterov = false, quiet = false, lr_given = false;
};

std::string pct(const std::optional<double>& v) {
  if (!v) return "-";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2f%%", 100.0 * *v);
  return buf;
}

// OUT.onnx -> OUT (the --qat companions are OUT.int8.onnx and OUT.ranges.json).
std::string output_stem(const std::string& out) {
  const std::string ext = ".onnx";
  if (out.size() > ext.size() && out.compare(out.size() - ext.size(), ext.size(), ext) == 0)
    return out.substr(0, out.size() - ext.size());
  return out;
}

void run_train(TrainArgs& a) {
  if (a.output.empty()) throw UserError("train: -o OUT.onnx is required");
  train::TrainConfig& c = a.config;
  c = measure::train_config(c, {a.optimizer, a.lr_given, a.nesterov, a.augment, a.kernels});
  c.resume = a.resume;
  c.checkpoint = a.checkpoint.empty() ? a.output + ".ckpt" : a.checkpoint;
  ir::Graph model = load_model(a.model, c.seed, "train");
  train::Trainer trainer(std::move(model), c);

  std::ofstream log;
  if (!a.log.empty()) {
    log.open(a.log, std::ios::trunc);
    if (!log) throw UserError("--log: cannot write '" + a.log + "'");
    log << "epoch,train_loss,train_accuracy,val_accuracy,test_accuracy,seconds,images_per_second,"
           "lr,"
           "forward_format,loss_scale,skipped_steps\n";
  }
  if (!a.json && !a.quiet) {
    std::printf("model    %s\ndata     %s\nprecision %s\n", a.model.c_str(),
                trainer.describe_data().c_str(), trainer.policy().describe().c_str());
    if (trainer.qat()) std::printf("qat      %s\n", trainer.qat()->describe().c_str());
    if (trainer.kfac()) std::printf("kfac     %s\n", trainer.kfac()->describe().c_str());
    if (trainer.binarize()) std::printf("binarize %s\n", trainer.binarize()->describe().c_str());
    std::fflush(stdout);
  }
  const bool bar = !a.quiet && isatty(STDERR_FILENO);
  nlohmann::json epochs = nlohmann::json::array();
  trainer.run(
      [&](const train::EpochStats& s) {
        if (bar) std::fprintf(stderr, "\r\033[K");
        if (!a.json && !a.quiet) {
          std::printf(
              "epoch %lld/%lld  loss %.4f  train %s  val %s  test %s  %.1f s  %.0f img/s  lr "
              "%.5g%s%s%s\n",
              static_cast<long long>(s.epoch), static_cast<long long>(c.epochs), s.train_loss,
              pct(s.train_accuracy).c_str(), pct(s.val_accuracy).c_str(),
              pct(s.test_accuracy).c_str(), s.seconds, s.images_per_second, s.lr,
              s.forward_format.empty() ? "" : ("  fwd " + s.forward_format).c_str(),
              s.skipped_steps ? ("  skipped " + std::to_string(s.skipped_steps)).c_str() : "",
              s.full_train_loss ? ("  full-loss " + std::to_string(*s.full_train_loss)).c_str()
                                : "");
          std::fflush(stdout);
        }
        nlohmann::json j = measure::epoch_json(s);
        if (!s.warning.empty()) std::fprintf(stderr, "warning: %s\n", s.warning.c_str());
        epochs.push_back(j);
        if (log) {
          log << s.epoch << ',' << s.train_loss << ',' << s.train_accuracy << ','
              << (s.val_accuracy ? std::to_string(*s.val_accuracy) : "") << ','
              << (s.test_accuracy ? std::to_string(*s.test_accuracy) : "") << ',' << s.seconds
              << ',' << s.images_per_second << ',' << s.lr << ',' << s.forward_format << ','
              << s.loss_scale << ',' << s.skipped_steps << '\n';
          log.flush();
        }
      },
      [&](int64_t epoch, int64_t done, int64_t total, double loss) {
        if (!bar || (done % 10 != 0 && done != total)) return;
        const int width = 30;
        const int filled = static_cast<int>(width * done / std::max<int64_t>(total, 1));
        std::fprintf(stderr, "\repoch %lld [%s%s] %lld/%lld loss %.4f",
                     static_cast<long long>(epoch),
                     std::string(static_cast<size_t>(filled), '#').c_str(),
                     std::string(static_cast<size_t>(width - filled), '.').c_str(),
                     static_cast<long long>(done), static_cast<long long>(total), loss);
      });
  // --binarize: OUT.onnx holds the shadow (float) weights, OUT.binarized.onnx what
  // frugal compress --binarize writes from them (the model the evaluations ran).
  const train::BinarizeTrain* bin = trainer.binarize();
  ir::save_onnx(bin ? bin->float_model(trainer.model()) : trainer.model(), a.output);
  const std::string binarized_path = bin ? output_stem(a.output) + ".binarized.onnx" : "";
  if (bin) ir::save_onnx(bin->export_binarized(trainer.model()).graph, binarized_path);
  std::string int8_path, ranges_path;
  std::vector<std::string> qat_notes;
  if (trainer.qat()) {
    // The QDQ model with the ranges learned in training, and the ranges for cpu:int8.
    const compress::QuantResult q = trainer.qat()->export_int8(trainer.model());
    int8_path = output_stem(a.output) + ".int8.onnx";
    ranges_path = output_stem(a.output) + ".ranges.json";
    ir::save_onnx(q.graph, int8_path);
    runtime::save_ranges(ranges_path, q.ranges);
    qat_notes = q.notes;
  }
  if (a.json) {
    nlohmann::json summary = measure::train_summary(trainer, c, a.model, epochs);
    summary["output"] = a.output;
    summary["checkpoint"] = c.checkpoint;
    if (trainer.qat())
      summary["qat"] = {{"spec", trainer.qat()->spec().name()},
                        {"int8_model", int8_path},
                        {"ranges", ranges_path},
                        {"notes", qat_notes}};
    if (bin) summary["binarize"] = {{"spec", bin->spec().str()}, {"model", binarized_path}};
    print_json(summary);
  } else if (!a.quiet) {
    std::printf("wrote %s (checkpoint %s)\n", a.output.c_str(), c.checkpoint.c_str());
    if (trainer.qat()) {
      std::printf("wrote %s (QDQ int8, ranges learned in training) and %s\n", int8_path.c_str(),
                  ranges_path.c_str());
      for (const auto& n : qat_notes) std::printf("note     %s\n", n.c_str());
    }
    if (bin)
      std::printf("wrote %s (frugal compress --binarize %s of the trained weights)\n",
                  binarized_path.c_str(), bin->spec().str().c_str());
  }
  if (!a.json && !trainer.cluster_summary().empty())  // --cluster keep (docs/compression.md)
    std::printf("cluster %s\n", trainer.cluster_summary().c_str());
  if (!a.json && !trainer.halp_summary().empty())  // --halp (docs/training.md "HALP")
    std::printf("halp     %s\n", trainer.halp_summary().c_str());
  if (!a.json && !trainer.prune_summary().empty())  // --prune (docs/pruning.md)
    std::printf("prune %s\n", trainer.prune_summary().c_str());
}

void setup(CLI::App& app) {
  auto a = std::make_shared<TrainArgs>();
  auto* sub =
      app.add_subcommand("train", "Train or fine-tune a CNN, in any emulated number format");
  sub->footer(
      "Examples:\n"
      "  frugal train lenet5 --data fashion-mnist -o lenet.onnx      (default recipe: SGD, "
      "momentum 0.9, lr 0.05, cosine; one epoch reaches about 85%)\n"
      "  frugal train lenet5 --data fashion-mnist --epochs 10 --batch 64 --lr 0.05 --momentum 0.9 "
      "-o lenet.onnx\n"
      "  frugal train resnet8_fmnist --optimizer adamw --lr 0.002 --weight-decay 0.05 "
      "--schedule-lr warmup:1,cosine -o r8.onnx\n"
      "  frugal train lenet5 --format W=e4m3,A=e4m3,E=e5m2,G=e5m2 --rounding "
      "W=stochastic,default=nearest -o fp8.onnx\n"
      "  frugal train lenet5 --format W=bf16,M=W --rounding W=stochastic -o nomaster.onnx\n"
      "  frugal train lenet5 --precision-schedule 0:e5m2,3:e4m3,8:bf16 -o sched.onnx\n"
      "  frugal train lenet5 --epochs 4 -o l.onnx --resume l.onnx.ckpt\n"
      "  frugal train lenet300_100 --circulant 32:pad --circulant-exclude last -o circ.onnx\n"
      "  frugal train lenet.onnx --binarize ternary --epochs 2 --lr 0.01 -o tern.onnx   (STE; "
      "writes tern.binarized.onnx)\n"
      "  frugal train lenet5 --optimizer kfac --epochs 2 -o kfac.onnx      (K-FAC: Gemm and "
      "Conv layers preconditioned; docs/training.md \"K-FAC\")\n"
      "  frugal train lenet5 --optimizer kfac --kfac-format factors=bf16,inverse=fp32 "
      "--kfac-inv-every 50 -o kfac_bf16.onnx\n"
      "  frugal train lenet5 --halp 8 --format W=fixed2.6 --lr 0.05 --momentum 0 --full-loss "
      "-o halp.onnx      (HALP: SVRG on 8-bit offsets around an fp32 centre; docs/training.md "
      "\"HALP\")\n"
      "  frugal train lenet.onnx --qat int8 --epochs 1 --lr 0.005 --momentum 0.9 -o lq.onnx\n"
      "      (also writes lq.int8.onnx, the QDQ model, and lq.ranges.json)");
  sub->add_option("model", a->model, "ONNX file or zoo model name")->required();
  sub->add_option("-o,--output", a->output, "trained model (ONNX, inference form)");
  auto& c = a->config;
  sub->add_option("--data", c.data,
                  "training data: fashion-mnist or a data spec (idx:, npy:, npz:, folder:)");
  sub->add_option("--test-data", c.test_data, "test data spec (fashion-mnist: its test split)");
  sub->add_option("--epochs", c.epochs, "epochs (default 1)");
  sub->add_option("--batch", c.batch, "mini-batch size (default 64)");
  sub->add_option("--lr", c.lr, "base learning rate (default 0.05 for sgd, 0.002 for adam, adamw)")
      ->each([a](const std::string&) { a->lr_given = true; });
  sub->add_option("--optimizer", a->optimizer,
                  "sgd | adam | adamw | kfac (default sgd; kfac: SGD with momentum on K-FAC "
                  "preconditioned gradients)");
  auto& k = c.kfac;
  sub->add_option("--kfac-damping", k.damping,
                  "K-FAC Tikhonov damping (start value; default 1e-3)");
  sub->add_option("--kfac-adapt-every", k.adapt_every,
                  "K-FAC: adapt the damping (Levenberg-Marquardt) every N steps; 0: fixed "
                  "(default 5)");
  sub->add_option("--kfac-decay", k.decay, "K-FAC: moving average of the factors (default 0.95)");
  sub->add_option("--kfac-cov-every", k.cov_every, "K-FAC: refresh the factors every N steps (1)");
  sub->add_option("--kfac-inv-every", k.inv_every, "K-FAC: invert the factors every N steps (20)");
  sub->add_option("--kfac-kl-clip", k.kl_clip, "K-FAC: KL clipping of the update; 0: off (1e-3)");
  sub->add_option("--halp", c.halp,
                  "HALP: SVRG with bit centering, BITS[:EPOCH_LEN] (offset bits 2..16; inner steps "
                  "per outer epoch, default one pass over the data); plain steps, no momentum");
  sub->add_option("--halp-mu", c.halp_mu,
                  "HALP: strong-convexity constant mu; offsets span |full gradient| / mu (1)");
  sub->add_flag("--full-loss", c.full_loss,
                "after each epoch, the mean loss over all training samples (inference mode)");
  sub->add_option("--kfac-format", k.format,
                  "K-FAC number formats per part: stats=,factors=,inverse=,update= (as --format; "
                  "default fp32)");
  sub->add_option("--kfac-rounding", k.rounding,
                  "K-FAC rounding per part: factors=stochastic,default=nearest (as --rounding)");
  sub->add_option("--momentum", c.optimizer.momentum, "SGD momentum (default 0.9)");
  sub->add_flag("--nesterov", a->nesterov, "Nesterov momentum");
  sub->add_option("--weight-decay", c.optimizer.weight_decay, "weight decay (decoupled for adamw)");
  sub->add_option("--schedule-lr", c.lr_schedule,
                  "[warmup:EPOCHS,]const|cosine|onecycle|step:E1+E2[:GAMMA] (default cosine)");
  sub->add_option("--seed", c.seed,
                  "seed of initialization, shuffling, augmentation, dropout, rounding");
  sub->add_flag("--json", a->json, "print a JSON summary");
  sub->add_option("--log", a->log, "per-epoch CSV log");
  sub->add_option("--val-split", c.val_split,
                  "fraction of training samples held out for validation");
  sub->add_option("--augment", a->augment, "crop:PAD,flip | none");
  sub->add_option("--threads", c.threads, "compute threads (default 1); results depend on it");
  sub->add_option("--resume", a->resume, "continue from a checkpoint");
  sub->add_option("--checkpoint", a->checkpoint, "checkpoint path (default OUT.onnx.ckpt)");
  sub->add_option("--limit", c.limit, "use only the first N training and test samples");
  sub->add_option("--stop-after", c.stop_after, "stop after N epochs of this run (resume later)");
  sub->add_option("--format", c.format,
                  "precision policy: W=,A=,E=,G=,M= formats (M=W: no master copy)");
  sub->add_option("--rounding", c.rounding, "rounding per class: W=stochastic,default=nearest");
  sub->add_option("--precision-schedule", c.precision_schedule,
                  "E:FMT,... | cyclic:eXmA..eXmB[:cycles=N] | adaptive:eXmA..eXmB[:patience=P]");
  sub->add_option("--loss-scale", c.loss_scale, "none | dynamic | a static scale (default none)");
  sub->add_option("--kernels", a->kernels,
                  "fast (default: onednn) | onednn (conv/pool primitives) | gemm (im2col + "
                  "sgemm) | ref (plain loops)");
  sub->add_option("--datasets-root", c.datasets_root, "where named data sets live");
  sub->add_option(
      "--prune", c.prune,
      "prune while training: SPEC[:schedule=cubic,start=E,end=E,every=N] (docs/pruning.md)");
  sub->add_option("--cluster", c.cluster,
                  "keep: fine-tune the centroids of a frugal compress --cluster model (gradients "
                  "of a cluster summed into its centroid, indices fixed; docs/compression.md)");
  sub->add_option("--prune-exclude", c.prune_exclude,
                  "layers never pruned: names, globs, first, last");
  sub->add_option("--circulant", c.circulant,
                  "B[:pad][:fft=own|fftw]: train with block-circulant fully-connected and 1x1-conv "
                  "layers (CirCNN; see frugal compress --circulant)");
  sub->add_option("--circulant-exclude", c.circulant_exclude,
                  "layers --circulant leaves dense: names, globs, first, last");
  sub->add_option("--qat", c.qat,
                  "quantization-aware training: int8[:per-channel|per-tensor][,sym|asym]"
                  "[,calib=minmax|percentile[:P]][,start=E][,freeze=E] (docs/quantization.md)");
  sub->add_option("--binarize", c.binarize,
                  "binary|ternary[:all][:acts[:packed]]: train binary/ternary weights (and "
                  "activations) with the straight-through estimator; writes OUT.binarized.onnx "
                  "(docs/training.md)");
  sub->add_option("--binarize-exclude", c.binarize_exclude,
                  "layers --binarize leaves float: names, globs, first, last");
  sub->add_flag("--binarize-clip", c.binarize_clip,
                "clip the binarized layers' shadow weights to [-1, 1] after each step");
  sub->add_flag("-q,--quiet", a->quiet, "no per-epoch lines");
  sub->callback([a] { run_train(*a); });
}

}  // namespace

FRUGAL_REGISTER_COMMAND(train, 50, setup);

}  // namespace frugal::cli
