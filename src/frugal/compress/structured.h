// Structured (channel) pruning with graph surgery: output channels of Convs are removed
// and every reader of those channels is rewritten, so the result is a smaller dense model
// that any runtime can run.
//
// Channels are tracked as "channel groups": the set of values that share one channel
// index space. A group starts at a Conv with group=1 (its output channels) and flows
// through BatchNormalization, element-wise activations, pooling and depthwise Convs (whose
// channels follow their producer's); an Add/Sub/Mul/Max/Min of two such values joins their
// groups (ResNet and MobileNetV2 residual blocks: every Conv feeding one Add loses the same
// channels). A group ends at the input channels of a Conv (group=1) or at a Flatten read by
// Gemm/MatMul (the matching rows of the dense weight go). Anything else reading a group
// (Concat, Reshape, grouped Conv, per-channel broadcasts, graph outputs, ...) leaves that
// group unpruned, with the reason, in the outcome's notes.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "frugal/compress/prune.h"
#include "frugal/ir/graph.h"

namespace frugal::compress {

struct ChannelMember {
  enum class Role {
    kSource,      // Conv whose output channels these are: weight rows, bias
    kBatchNorm,   // scale, B, mean, var
    kDepthwise,   // depthwise Conv: weight rows, bias, group attribute
    kConvInput,   // Conv reading the channels: weight dimension 1
    kDenseInput,  // Gemm/MatMul after Flatten: `spatial` consecutive features per channel
  };
  Role role = Role::kSource;
  int64_t node = -1;
  int64_t spatial = 1;
};

struct ChannelGroup {
  int64_t channels = 0;
  std::vector<ChannelMember> members;
  std::vector<std::string> sources;  // names of the Convs producing the channels
  std::string blocked;               // non-empty: why this group is left alone
  std::vector<int64_t> keep;         // channels kept, ascending (all when not pruned)
  std::vector<double> scores;        // per channel, by the criterion
};

struct ChannelPlan {
  std::vector<ChannelGroup> groups;
  std::vector<std::string> notes;
};

// Finds the channel groups of `graph` and chooses the channels to keep for `spec` (a
// channels spec: ratio and criterion l1 | l2 | bn, excludes naming source Convs). Throws
// UserError when a group would lose every channel (naming its Convs), or when no group at
// all can be pruned (with the reasons).
ChannelPlan plan_channel_pruning(const ir::Graph& graph, const PruneSpec& spec);

// Applies a plan (from plan_channel_pruning on the same graph; `keep` may be edited) and
// returns the smaller graph. Intermediate value_info shapes are dropped (they changed).
ir::Graph apply_channel_plan(const ir::Graph& graph, const ChannelPlan& plan);

// plan + apply, with the "frugal.compress" metadata step.
PruneOutcome prune_channels(const ir::Graph& graph, const PruneSpec& spec);

}  // namespace frugal::compress
