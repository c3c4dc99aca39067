// Writes a Vision Transformer (ViT-B/16 by default, torchvision's vit_b_16 dimensions) as
// ONNX in the form torch.onnx.export (opset 17) gives it: patch Conv, class token Concat,
// position Add, per block LayerNormalization, packed QKV MatMul + Add, Reshape/Transpose
// into heads, q scaled by 1/sqrt(head dim), MatMul, Softmax, MatMul, heads merged, output
// projection, residual Adds, and an MLP whose GELU is the Erf decomposition (opset < 20).
// Weights are random (N(0, 0.02), biases 0.01 N(0, 1)): timing only. The batch is
// symbolic, as in the zoo, so that ONNX Runtime runs any batch.
//
//   make_vit OUT.onnx [--layers 12] [--hidden 768] [--heads 12] [--mlp 3072] [--image 224]
//                     [--patch 16] [--decomposed-ln]
//   make_vit OUT.onnx --bert [--layers 12] [--hidden 768] [--heads 12] [--mlp 3072]
//                     [--seq 128] [--vocab 30522] [--decomposed-ln]
//   make_vit OUT.onnx --distilbert [--layers 6] [--hidden 768] [--heads 12] [--mlp 3072]
//                     [--seq 128] [--vocab 30522]
//   make_vit OUT.onnx --gpt2 [--layers 12] [--hidden 768] [--heads 12] [--mlp 3072]
//                     [--seq 128] [--vocab 50257]
//
// --decomposed-ln writes LayerNorm as the ReduceMean/Sub/Pow/Sqrt/Div chain that exports
// before opset 17 produce (for fuse_layer_norm). --rms-norm writes every norm instead as
// T5's and LLaMA's RMS norm as torch exports it: Pow(x, 2), ReduceMean, Add(eps), Sqrt,
// Div(1, .) (torch.rsqrt), Mul by x, Mul by the weight (no bias).
//
// --bert writes instead a BERT encoder (bert-base-uncased's dimensions by default) as
// Hugging Face's BertModel exports it: int64 inputs input_ids, attention_mask and
// token_type_ids [N, seq]; word, position and token-type embedding Gathers, LayerNorm; the
// mask as Unsqueeze, Cast, 1 - m, times the float32 minimum, added to the scores; separate
// q, k, v projections, scores divided by sqrt(head dim); post-LayerNorm blocks (residual Add,
// then LayerNorm, epsilon 1e-12) with an Erf GELU; outputs last_hidden_state and the Tanh
// pooler over the first token.
//
// --distilbert writes DistilBERT as Hugging Face's DistilBertModel (eager attention) exports
// it: int64 input_ids and attention_mask [N, seq]; word and position embeddings, LayerNorm;
// q divided by sqrt(head dim) before q kᵀ; per layer the padding mask as
// Where(Expand(Reshape(Equal(attention_mask, 0)), Shape(scores)), float32 minimum, scores)
// (masked_fill); post-LayerNorm blocks with an Erf GELU; output last_hidden_state.
//
// --gpt2 writes a GPT-2 decoder (gpt2's dimensions by default) as Hugging Face's GPT2Model
// with eager attention exports it (opset 17): int64 input_ids [N, seq]; token and position
// embedding Gathers; pre-LayerNorm blocks (epsilon 1e-5); the packed c_attn projection
// (MatMul + Add) Split into q, k, v, heads by Reshape/Transpose, k transposed again for
// q kᵀ, scores divided by sqrt(head dim), the causal mask as Where(constant lower-triangular
// bool, scores, float32 minimum), Softmax, heads merged; an MLP whose activation is GPT-2's
// tanh GELU written out (0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))), with Pow); ln_f.
#include <cmath>
#include <cstdio>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "frugal/core/rng.h"
#include "frugal/ir/onnx_io.h"

using namespace frugal;

namespace {

struct Config {
  int64_t layers = 12, hidden = 768, heads = 12, mlp = 3072, image = 224, patch = 16;
  int64_t seq = 128, vocab = 30522;  // --bert, --gpt2 (vocab 50257 unless given)
  bool decomposed_ln = false, rms_norm = false, bert = false, gpt2 = false, distilbert = false;
  bool vocab_given = false, layers_given = false;
  float ln_epsilon() const { return bert || distilbert ? 1e-12f : gpt2 ? 1e-5f : 1e-6f; }
};

class Writer {
 public:
  explicit Writer(const Config& c) : c_(c) {
    g_.name = "vit";
    g_.opsets[""] = 17;
    g_.ir_version = 8;
  }
  ir::Graph& graph() { return g_; }

  std::string node(const std::string& op, std::vector<std::string> ins,
                   std::map<std::string, ir::Attribute> attrs = {}) {
    ir::Node n;
    n.name = op + "_" + std::to_string(g_.nodes.size());
    n.op_type = op;
    n.inputs = std::move(ins);
    n.outputs = {n.name};
    n.attrs = std::move(attrs);
    g_.nodes.push_back(n);
    return n.name;
  }
  std::string random(const std::string& name, const Shape& shape, float std_dev) {
    Tensor t(DType::kF32, shape);
    Philox rng(1, stream_++);
    for (int64_t i = 0; i < t.numel(); ++i)
      t.data<float>()[i] = std_dev * rng.normal(static_cast<uint64_t>(i));
    g_.initializers[name] = std::move(t);
    return name;
  }
  std::string ints(const std::string& name, std::vector<int64_t> v,
                   std::optional<Shape> shape = std::nullopt) {
    const Shape s = shape.value_or(Shape{static_cast<int64_t>(v.size())});
    g_.initializers[name] = Tensor::from_vector<int64_t>(s, std::move(v));
    return name;
  }
  std::string scalar(const std::string& name, float v) {
    g_.initializers[name] = Tensor::from_vector<float>({}, {v});
    return name;
  }
  // torch.nn.Linear on a 3-D input: MatMul by the transposed weight, then Add the bias.
  std::string linear(const std::string& name, const std::string& x, int64_t in, int64_t out) {
    const std::string w = random(name + ".weight_t", {in, out}, 0.02f);
    const std::string b = random(name + ".bias", {out}, 0.01f);
    return node("Add", {node("MatMul", {x, w}), b});
  }
  std::string layer_norm(const std::string& name, const std::string& x) {
    const std::string scale = random(name + ".weight", {c_.hidden}, 0.1f);
    const std::string bias = random(name + ".bias", {c_.hidden}, 0.1f);
    const ir::Attribute axes{std::vector<int64_t>{-1}};
    if (c_.rms_norm) {
      const std::string ms =
          node("ReduceMean", {node("Pow", {x, scalar(name + ".two", 2.0f)})}, {{"axes", axes}});
      const std::string rms = node("Sqrt", {node("Add", {ms, scalar(name + ".eps", 1e-6f)})});
      const std::string inv = node("Div", {scalar(name + ".one", 1.0f), rms});
      return node("Mul", {scale, node("Mul", {x, inv})});
    }
    if (!c_.decomposed_ln)
      return node(
          "LayerNormalization", {x, scale, bias},
          {{"axis", ir::Attribute{int64_t{-1}}}, {"epsilon", ir::Attribute{c_.ln_epsilon()}}});
    const std::string mean = node("ReduceMean", {x}, {{"axes", axes}});
    const std::string d = node("Sub", {x, mean});
    const std::string var =
        node("ReduceMean", {node("Pow", {d, scalar(name + ".two", 2.0f)})}, {{"axes", axes}});
    const std::string sd =
        node("Sqrt", {node("Add", {var, scalar(name + ".eps", c_.ln_epsilon())})});
    return node("Add", {node("Mul", {node("Div", {d, sd}), scale}), bias});
  }
  std::string gelu(const std::string& name, const std::string& x) {
    const std::string e = node("Erf", {node("Div", {x, scalar(name + ".sqrt2", std::sqrt(2.0f))})});
    const std::string p = node("Add", {e, scalar(name + ".one", 1.0f)});
    return node("Mul", {node("Mul", {x, p}), scalar(name + ".half", 0.5f)});
  }
  // GPT-2's NewGELUActivation as torch writes it: 0.5 * x * (1 + tanh(c * (x + k * x^3))).
  std::string gelu_tanh(const std::string& name, const std::string& x) {
    const std::string cube = node("Pow", {x, scalar(name + ".three", 3.0f)});
    const std::string inner = node("Add", {x, node("Mul", {scalar(name + ".k", 0.044715f), cube})});
    const std::string t = node(
        "Tanh", {node("Mul", {scalar(name + ".c", std::sqrt(2.0f / 3.14159265358979f)), inner})});
    return node("Mul", {node("Mul", {scalar(name + ".half", 0.5f), x}),
                        node("Add", {scalar(name + ".one", 1.0f), t})});
  }

 private:
  const Config& c_;
  ir::Graph g_;
  uint64_t stream_ = 0;
};

// The end every attention here shares: Softmax over the keys of the (scaled, masked)
// scores, the product by V, the heads merged back (Transpose, Reshape) and the output
// projection `proj`.
std::string attend(Writer& w, const Config& c, const std::string& p, const std::string& scores,
                   const std::string& v, const std::string& proj) {
  const std::string probs = w.node("Softmax", {scores}, {{"axis", ir::Attribute{int64_t{-1}}}});
  const std::string o = w.node("MatMul", {probs, v});
  const std::string merged =
      w.node("Reshape",
             {w.node("Transpose", {o}, {{"perm", ir::Attribute{std::vector<int64_t>{0, 2, 1, 3}}}}),
              w.ints(p + ".merged_shape", {0, 0, c.hidden})});
  return w.linear(p + proj, merged, c.hidden, c.hidden);
}

// int64 inputs [N, seq] named `names`, and the sum of the word embedding of input_ids
// (table `words` x hidden) and the learned position embedding (`positions`, 512 or 1024 rows)
// of the positions 0 .. seq-1, as Hugging Face's text models begin.
std::string text_inputs_and_embeddings(Writer& w, const Config& c,
                                       const std::vector<std::string>& names,
                                       const std::string& words, const std::string& positions,
                                       int64_t position_rows, float position_std) {
  for (const auto& name : names)
    w.graph().inputs.push_back(
        ir::ValueInfo{name, DType::kI64, std::vector<ir::Dim>{{-1, "N"}, {c.seq, ""}}});
  std::vector<int64_t> ids(c.seq);
  for (int64_t i = 0; i < c.seq; ++i) ids[i] = i;
  return w.node("Add",
                {w.node("Gather", {w.random(words, {c.vocab, c.hidden}, 0.02f), "input_ids"}),
                 w.node("Gather", {w.random(positions, {position_rows, c.hidden}, position_std),
                                   w.ints("position_ids", ids, Shape{1, c.seq})})});
}

std::string attention(Writer& w, const Config& c, const std::string& p, const std::string& x) {
  const int64_t d = c.hidden / c.heads;
  const std::string qkv = w.linear(p + ".in_proj", x, c.hidden, 3 * c.hidden);
  // N x T x 3 x H x d -> 3 x N x H x T x d, split into q, k, v (each 1 x N x H x T x d).
  const std::string r = w.node("Reshape", {qkv, w.ints(p + ".qkv_shape", {0, -1, 3, c.heads, d})});
  const std::string t =
      w.node("Transpose", {r}, {{"perm", ir::Attribute{std::vector<int64_t>{2, 0, 3, 1, 4}}}});
  ir::Node split;
  split.name = p + ".split";
  split.op_type = "Split";
  split.inputs = {t, w.ints(p + ".split_sizes", {1, 1, 1})};
  split.attrs["axis"] = ir::Attribute{int64_t{0}};
  for (const char* s : {".q", ".k", ".v"}) split.outputs.push_back(p + s);
  w.graph().nodes.push_back(split);
  const std::string axis0 = w.ints(p + ".axis0", {0});
  const std::string q = w.node("Squeeze", {p + ".q", axis0});
  const std::string k = w.node("Squeeze", {p + ".k", axis0});
  const std::string v = w.node("Squeeze", {p + ".v", axis0});
  const std::string qs =
      w.node("Mul", {q, w.scalar(p + ".scale", 1.0f / std::sqrt(static_cast<float>(d)))});
  const std::string kt =
      w.node("Transpose", {k}, {{"perm", ir::Attribute{std::vector<int64_t>{0, 1, 3, 2}}}});
  const std::string probs =
      w.node("Softmax", {w.node("MatMul", {qs, kt})}, {{"axis", ir::Attribute{int64_t{-1}}}});
  const std::string o = w.node("MatMul", {probs, v});
  const std::string merged =
      w.node("Reshape",
             {w.node("Transpose", {o}, {{"perm", ir::Attribute{std::vector<int64_t>{0, 2, 1, 3}}}}),
              w.ints(p + ".merged_shape", {0, -1, c.hidden})});
  return w.linear(p + ".out_proj", merged, c.hidden, c.hidden);
}

ir::Graph build(const Config& c) {
  Writer w(c);
  ir::Graph& g = w.graph();
  ir::ValueInfo in{"input", DType::kF32,
                   std::vector<ir::Dim>{{-1, "N"}, {3, ""}, {c.image, ""}, {c.image, ""}}};
  g.inputs.push_back(in);
  const int64_t grid = c.image / c.patch;
  const ir::Attribute k{std::vector<int64_t>{c.patch, c.patch}};
  std::string x =
      w.node("Conv",
             {"input", w.random("conv_proj.weight", {c.hidden, 3, c.patch, c.patch}, 0.02f),
              w.random("conv_proj.bias", {c.hidden}, 0.01f)},
             {{"kernel_shape", k}, {"strides", k}});
  x = w.node("Reshape", {x, w.ints("patch_shape", {0, c.hidden, grid * grid})});
  x = w.node("Transpose", {x}, {{"perm", ir::Attribute{std::vector<int64_t>{0, 2, 1}}}});
  // The class token expanded to the batch: Expand to [N, 1, hidden] from x's shape.
  const std::string n =
      w.node("Slice", {w.node("Shape", {x}), w.ints("s0", {0}), w.ints("s1", {1})});
  const std::string cls_shape = w.node("Concat", {n, w.ints("cls_rest", {1, c.hidden})},
                                       {{"axis", ir::Attribute{int64_t{0}}}});
  const std::string cls =
      w.node("Expand", {w.random("class_token", {1, 1, c.hidden}, 0.02f), cls_shape});
  x = w.node("Concat", {cls, x}, {{"axis", ir::Attribute{int64_t{1}}}});
  x = w.node("Add", {x, w.random("encoder.pos_embedding", {1, grid * grid + 1, c.hidden}, 0.02f)});
  for (int64_t l = 0; l < c.layers; ++l) {
    const std::string p = "encoder.layers.encoder_layer_" + std::to_string(l);
    const std::string a = attention(w, c, p + ".self_attention", w.layer_norm(p + ".ln_1", x));
    x = w.node("Add", {a, x});
    std::string h = w.linear(p + ".mlp.0", w.layer_norm(p + ".ln_2", x), c.hidden, c.mlp);
    h = w.linear(p + ".mlp.3", w.gelu(p + ".mlp.1", h), c.mlp, c.hidden);
    x = w.node("Add", {h, x});
  }
  x = w.layer_norm("encoder.ln", x);
  x = w.node("Gather", {x, w.ints("cls_index", {0})}, {{"axis", ir::Attribute{int64_t{1}}}});
  x = w.node("Reshape", {x, w.ints("cls_flat", {0, c.hidden})});
  x = w.node("Gemm",
             {x, w.random("heads.head.weight", {1000, c.hidden}, 0.02f),
              w.random("heads.head.bias", {1000}, 0.01f)},
             {{"transB", ir::Attribute{int64_t{1}}}});
  g.outputs.push_back(ir::ValueInfo{x, DType::kF32, std::nullopt});
  g.validate_and_sort();
  return g;
}

// Hugging Face's BertSelfAttention + BertSelfOutput: separate projections, heads split by
// Reshape/Transpose, scores / sqrt(d) + the extended mask, Softmax, heads merged.
std::string bert_attention(Writer& w, const Config& c, const std::string& p, const std::string& x,
                           const std::string& mask) {
  const int64_t d = c.hidden / c.heads;
  const std::string heads = w.ints(p + ".heads_shape", {0, 0, c.heads, d});
  auto split = [&](const std::string& name, std::vector<int64_t> perm) {
    const std::string r = w.node("Reshape", {w.linear(p + name, x, c.hidden, c.hidden), heads});
    return w.node("Transpose", {r}, {{"perm", ir::Attribute{std::move(perm)}}});
  };
  const std::string q = split(".query", {0, 2, 1, 3});
  const std::string kt = split(".key", {0, 2, 3, 1});
  const std::string v = split(".value", {0, 2, 1, 3});
  const std::string scores = w.node(
      "Div",
      {w.node("MatMul", {q, kt}), w.scalar(p + ".sqrt_d", std::sqrt(static_cast<float>(d)))});
  return attend(w, c, p, w.node("Add", {scores, mask}), v, ".output.dense");
}

// DistilBERT's MultiHeadSelfAttention: q / sqrt(d), q kᵀ, masked_fill of the padding mask
// (`pad`: attention_mask == 0, [N, seq]), Softmax, heads merged, output projection.
std::string distilbert_attention(Writer& w, const Config& c, const std::string& p,
                                 const std::string& x, const std::string& pad) {
  const int64_t d = c.hidden / c.heads;
  const std::string heads = w.ints(p + ".heads_shape", {0, 0, c.heads, d});
  auto split = [&](const std::string& name, std::vector<int64_t> perm) {
    const std::string r = w.node("Reshape", {w.linear(p + name, x, c.hidden, c.hidden), heads});
    return w.node("Transpose", {r}, {{"perm", ir::Attribute{std::move(perm)}}});
  };
  const std::string q = w.node("Div", {split(".q_lin", {0, 2, 1, 3}),
                                       w.scalar(p + ".sqrt_d", std::sqrt(static_cast<float>(d)))});
  const std::string kt = split(".k_lin", {0, 2, 3, 1});
  const std::string v = split(".v_lin", {0, 2, 1, 3});
  const std::string scores = w.node("MatMul", {q, kt});
  const std::string mask =
      w.node("Expand", {w.node("Reshape", {pad, w.ints(p + ".mask_shape", {0, 1, 1, c.seq})}),
                        w.node("Shape", {scores})});
  const std::string masked =
      w.node("Where", {mask, w.scalar(p + ".mask_value", -3.4028234663852886e38f), scores});
  return attend(w, c, p, masked, v, ".out_lin");
}

ir::Graph build_distilbert(const Config& c) {
  Writer w(c);
  ir::Graph& g = w.graph();
  g.name = "distilbert";
  std::string x = text_inputs_and_embeddings(w, c, {"input_ids", "attention_mask"},
                                             "embeddings.word_embeddings.weight",
                                             "embeddings.position_embeddings.weight", 512, 0.02f);
  x = w.layer_norm("embeddings.LayerNorm", x);
  g.initializers["zero_i64"] = Tensor::from_vector<int64_t>({}, {0});
  const std::string pad = w.node("Equal", {"attention_mask", "zero_i64"});
  for (int64_t l = 0; l < c.layers; ++l) {
    const std::string p = "transformer.layer." + std::to_string(l);
    const std::string a = distilbert_attention(w, c, p + ".attention", x, pad);
    x = w.layer_norm(p + ".sa_layer_norm", w.node("Add", {a, x}));
    std::string h = w.gelu(p + ".ffn.activation", w.linear(p + ".ffn.lin1", x, c.hidden, c.mlp));
    h = w.linear(p + ".ffn.lin2", h, c.mlp, c.hidden);
    x = w.layer_norm(p + ".output_layer_norm", w.node("Add", {h, x}));
  }
  g.outputs.push_back(ir::ValueInfo{x, DType::kF32, std::nullopt});
  g.validate_and_sort();
  return g;
}

ir::Graph build_bert(const Config& c) {
  Writer w(c);
  ir::Graph& g = w.graph();
  g.name = "bert";
  for (const char* name : {"input_ids", "attention_mask", "token_type_ids"})
    g.inputs.push_back(
        ir::ValueInfo{name, DType::kI64, std::vector<ir::Dim>{{-1, "N"}, {c.seq, ""}}});
  std::vector<int64_t> positions(c.seq);
  for (int64_t i = 0; i < c.seq; ++i) positions[i] = i;
  std::string x = w.node(
      "Add",
      {w.node("Gather", {w.random("embeddings.word_embeddings.weight", {c.vocab, c.hidden}, 0.02f),
                         "input_ids"}),
       w.node("Gather", {w.random("embeddings.token_type_embeddings.weight", {2, c.hidden}, 0.02f),
                         "token_type_ids"})});
  x = w.node("Add", {x, w.node("Gather", {w.random("embeddings.position_embeddings.weight",
                                                   {512, c.hidden}, 0.02f),
                                          w.ints("position_ids", positions, Shape{1, c.seq})})});
  x = w.layer_norm("embeddings.LayerNorm", x);
  // The extended mask: [N, 1, 1, seq], 0 where attended, the float32 minimum elsewhere.
  const std::string m =
      w.node("Cast", {w.node("Unsqueeze", {"attention_mask", w.ints("mask_axes", {1, 2})})},
             {{"to", ir::Attribute{int64_t{1}}}});
  const std::string mask = w.node("Mul", {w.node("Sub", {w.scalar("mask_one", 1.0f), m}),
                                          w.scalar("mask_min", -3.4028234663852886e38f)});
  for (int64_t l = 0; l < c.layers; ++l) {
    const std::string p = "encoder.layer." + std::to_string(l);
    const std::string a = bert_attention(w, c, p + ".attention.self", x, mask);
    x = w.layer_norm(p + ".attention.output.LayerNorm", w.node("Add", {a, x}));
    std::string h =
        w.gelu(p + ".intermediate.gelu", w.linear(p + ".intermediate.dense", x, c.hidden, c.mlp));
    h = w.linear(p + ".output.dense", h, c.mlp, c.hidden);
    x = w.layer_norm(p + ".output.LayerNorm", w.node("Add", {h, x}));
  }
  g.outputs.push_back(ir::ValueInfo{x, DType::kF32, std::nullopt});
  std::string pooled = w.node("Gather", {x, w.ints("first_token", {0}, Shape{})},
                              {{"axis", ir::Attribute{int64_t{1}}}});
  pooled = w.node("Gemm",
                  {pooled, w.random("pooler.dense.weight", {c.hidden, c.hidden}, 0.02f),
                   w.random("pooler.dense.bias", {c.hidden}, 0.01f)},
                  {{"transB", ir::Attribute{int64_t{1}}}});
  g.outputs.push_back(ir::ValueInfo{w.node("Tanh", {pooled}), DType::kF32, std::nullopt});
  g.validate_and_sort();
  return g;
}

// Hugging Face's GPT2Attention (eager): packed projection split in three, q kᵀ / sqrt(d),
// the causal mask by Where, Softmax, heads merged, output projection.
std::string gpt2_attention(Writer& w, const Config& c, const std::string& p, const std::string& x,
                           const std::string& causal) {
  const int64_t d = c.hidden / c.heads;
  ir::Node split;
  split.name = p + ".split";
  split.op_type = "Split";
  split.inputs = {w.linear(p + ".c_attn", x, c.hidden, 3 * c.hidden),
                  w.ints(p + ".split_sizes", {c.hidden, c.hidden, c.hidden})};
  split.attrs["axis"] = ir::Attribute{int64_t{2}};
  for (const char* s : {".q", ".k", ".v"}) split.outputs.push_back(p + s);
  w.graph().nodes.push_back(split);
  const std::string heads = w.ints(p + ".heads_shape", {0, 0, c.heads, d});
  auto split_heads = [&](const char* s) {
    return w.node("Transpose", {w.node("Reshape", {p + s, heads})},
                  {{"perm", ir::Attribute{std::vector<int64_t>{0, 2, 1, 3}}}});
  };
  const std::string q = split_heads(".q"), k = split_heads(".k"), v = split_heads(".v");
  const std::string kt =
      w.node("Transpose", {k}, {{"perm", ir::Attribute{std::vector<int64_t>{0, 1, 3, 2}}}});
  const std::string scores = w.node(
      "Div",
      {w.node("MatMul", {q, kt}), w.scalar(p + ".sqrt_d", std::sqrt(static_cast<float>(d)))});
  const std::string masked =
      w.node("Where", {causal, scores, w.scalar(p + ".mask_value", -3.4028234663852886e38f)});
  return attend(w, c, p, masked, v, ".c_proj");
}

ir::Graph build_gpt2(const Config& c) {
  Writer w(c);
  ir::Graph& g = w.graph();
  g.name = "gpt2";
  std::string x =
      text_inputs_and_embeddings(w, c, {"input_ids"}, "wte.weight", "wpe.weight", 1024, 0.01f);
  // The module's causal buffer sliced to the sequence (torch folds the Slice): 1 x 1 x T x T.
  Tensor causal(DType::kBool, {1, 1, c.seq, c.seq});
  for (int64_t i = 0; i < c.seq; ++i)
    for (int64_t j = 0; j < c.seq; ++j) causal.data<bool>()[i * c.seq + j] = j <= i;
  g.initializers["causal_mask"] = std::move(causal);
  for (int64_t l = 0; l < c.layers; ++l) {
    const std::string p = "h." + std::to_string(l);
    x = w.node("Add",
               {x, gpt2_attention(w, c, p + ".attn", w.layer_norm(p + ".ln_1", x), "causal_mask")});
    std::string h = w.linear(p + ".mlp.c_fc", w.layer_norm(p + ".ln_2", x), c.hidden, c.mlp);
    h = w.linear(p + ".mlp.c_proj", w.gelu_tanh(p + ".mlp.act", h), c.mlp, c.hidden);
    x = w.node("Add", {x, h});
  }
  g.outputs.push_back(ir::ValueInfo{w.layer_norm("ln_f", x), DType::kF32, std::nullopt});
  g.validate_and_sort();
  return g;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2 || argv[1][0] == '-') {
    std::fprintf(
        stderr,
        "usage: make_vit OUT.onnx [--bert|--distilbert|--gpt2] [--layers N] [--hidden N] "
        "[--heads N] "
        "[--mlp N] [--image N] [--patch N] [--seq N] [--vocab N] [--decomposed-ln|--rms-norm]\n");
    return 1;
  }
  Config c;
  for (int i = 2; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--decomposed-ln" || a == "--rms-norm" || a == "--bert" || a == "--gpt2" ||
        a == "--distilbert") {
      (a == "--bert"         ? c.bert
       : a == "--gpt2"       ? c.gpt2
       : a == "--distilbert" ? c.distilbert
       : a == "--rms-norm"   ? c.rms_norm
                             : c.decomposed_ln) = true;
      continue;
    }
    if (i + 1 >= argc) {
      std::fprintf(stderr, "make_vit: %s needs a value\n", a.c_str());
      return 1;
    }
    const int64_t v = std::stoll(argv[++i]);
    if (a == "--layers")
      c.layers = v, c.layers_given = true;
    else if (a == "--hidden")
      c.hidden = v;
    else if (a == "--heads")
      c.heads = v;
    else if (a == "--mlp")
      c.mlp = v;
    else if (a == "--image")
      c.image = v;
    else if (a == "--patch")
      c.patch = v;
    else if (a == "--seq")
      c.seq = v;
    else if (a == "--vocab")
      c.vocab = v, c.vocab_given = true;
    else {
      std::fprintf(stderr, "make_vit: unknown option %s\n", a.c_str());
      return 1;
    }
  }
  if (c.gpt2 && !c.vocab_given) c.vocab = 50257;
  if (c.distilbert && !c.layers_given) c.layers = 6;
  ir::save_onnx(c.gpt2         ? build_gpt2(c)
                : c.distilbert ? build_distilbert(c)
                : c.bert       ? build_bert(c)
                               : build(c),
                argv[1]);
  return 0;
}
