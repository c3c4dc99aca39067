// Inception v3 as torchvision.models.inception_v3 defines it for inference: 299x299 input,
// no auxiliary classifier (aux_logits=False), no input transform. Every BasicConv2d is a
// convolution without bias, BatchNorm (eps 0.001) and ReLU. 23,834,568 parameters
// (torchvision's 27,161,264 include the auxiliary classifier's 3,326,696). Convolutions and
// the classifier start as torchvision initializes them: weights N(0, 0.1) (its truncated
// normal cuts at +-2, i.e. 20 standard deviations: no draw reaches it), no bias. The random
// model's activations grow layer by layer without trained BatchNorm statistics; its use is
// structure and cost, not accuracy.
#include "frugal/zoo/builder.h"
#include "frugal/zoo/models.h"

namespace frugal::zoo {

namespace {

struct Inception {
  GraphBuilder& b;

  // BasicConv2d with a kh x kw kernel, padding ph, pw.
  std::string conv(const std::string& p, const std::string& x, int64_t out, int64_t kh, int64_t kw,
                   int64_t ph = 0, int64_t pw = 0, int64_t stride = 1) {
    std::string y = b.add_conv(p + ".conv", x, out,
                               {.kernel = kh,
                                .stride = stride,
                                .pad = ph,
                                .weight_std = 0.1f,
                                .kernel_w = kw,
                                .pad_w = pw});
    y = b.add_bn(p + ".bn", y, 0.001f);
    return b.add_relu(p + ".relu", y);
  }
  std::string conv1(const std::string& p, const std::string& x, int64_t out) {
    return conv(p, x, out, 1, 1);
  }
  std::string pool_branch(const std::string& p, const std::string& x, int64_t out) {
    return conv1(p + ".branch_pool", b.add_avg_pool(p + ".avg_pool", x, 3, 1, 1), out);
  }

  std::string a(const std::string& p, const std::string& x, int64_t pool_features) {
    const std::string b1 = conv1(p + ".branch1x1", x, 64);
    const std::string b5 =
        conv(p + ".branch5x5_2", conv1(p + ".branch5x5_1", x, 48), 64, 5, 5, 2, 2);
    std::string d = conv1(p + ".branch3x3dbl_1", x, 64);
    d = conv(p + ".branch3x3dbl_2", d, 96, 3, 3, 1, 1);
    d = conv(p + ".branch3x3dbl_3", d, 96, 3, 3, 1, 1);
    return b.add_concat(p + ".cat", {b1, b5, d, pool_branch(p, x, pool_features)});
  }
  std::string b_block(const std::string& p, const std::string& x) {
    const std::string b3 = conv(p + ".branch3x3", x, 384, 3, 3, 0, 0, 2);
    std::string d = conv1(p + ".branch3x3dbl_1", x, 64);
    d = conv(p + ".branch3x3dbl_2", d, 96, 3, 3, 1, 1);
    d = conv(p + ".branch3x3dbl_3", d, 96, 3, 3, 0, 0, 2);
    return b.add_concat(p + ".cat", {b3, d, b.add_max_pool(p + ".max_pool", x, 3, 2, 0)});
  }
  std::string c(const std::string& p, const std::string& x, int64_t c7) {
    const std::string b1 = conv1(p + ".branch1x1", x, 192);
    std::string s = conv1(p + ".branch7x7_1", x, c7);
    s = conv(p + ".branch7x7_2", s, c7, 1, 7, 0, 3);
    s = conv(p + ".branch7x7_3", s, 192, 7, 1, 3, 0);
    std::string d = conv1(p + ".branch7x7dbl_1", x, c7);
    d = conv(p + ".branch7x7dbl_2", d, c7, 7, 1, 3, 0);
    d = conv(p + ".branch7x7dbl_3", d, c7, 1, 7, 0, 3);
    d = conv(p + ".branch7x7dbl_4", d, c7, 7, 1, 3, 0);
    d = conv(p + ".branch7x7dbl_5", d, 192, 1, 7, 0, 3);
    return b.add_concat(p + ".cat", {b1, s, d, pool_branch(p, x, 192)});
  }
  std::string d(const std::string& p, const std::string& x) {
    const std::string b3 =
        conv(p + ".branch3x3_2", conv1(p + ".branch3x3_1", x, 192), 320, 3, 3, 0, 0, 2);
    std::string s = conv1(p + ".branch7x7x3_1", x, 192);
    s = conv(p + ".branch7x7x3_2", s, 192, 1, 7, 0, 3);
    s = conv(p + ".branch7x7x3_3", s, 192, 7, 1, 3, 0);
    s = conv(p + ".branch7x7x3_4", s, 192, 3, 3, 0, 0, 2);
    return b.add_concat(p + ".cat", {b3, s, b.add_max_pool(p + ".max_pool", x, 3, 2, 0)});
  }
  std::string e(const std::string& p, const std::string& x) {
    const std::string b1 = conv1(p + ".branch1x1", x, 320);
    const std::string t = conv1(p + ".branch3x3_1", x, 384);
    const std::string b3 =
        b.add_concat(p + ".branch3x3_cat", {conv(p + ".branch3x3_2a", t, 384, 1, 3, 0, 1),
                                            conv(p + ".branch3x3_2b", t, 384, 3, 1, 1, 0)});
    std::string u = conv1(p + ".branch3x3dbl_1", x, 448);
    u = conv(p + ".branch3x3dbl_2", u, 384, 3, 3, 1, 1);
    const std::string dbl =
        b.add_concat(p + ".branch3x3dbl_cat", {conv(p + ".branch3x3dbl_3a", u, 384, 1, 3, 0, 1),
                                               conv(p + ".branch3x3dbl_3b", u, 384, 3, 1, 1, 0)});
    return b.add_concat(p + ".cat", {b1, b3, dbl, pool_branch(p, x, 192)});
  }
};

}  // namespace

ir::Graph build_inception_v3(uint64_t seed) {
  GraphBuilder b("inception_v3", seed);
  Inception n{b};
  std::string x = b.add_input("input", {1, 3, 299, 299});
  x = n.conv("Conv2d_1a_3x3", x, 32, 3, 3, 0, 0, 2);
  x = n.conv("Conv2d_2a_3x3", x, 32, 3, 3);
  x = n.conv("Conv2d_2b_3x3", x, 64, 3, 3, 1, 1);
  x = b.add_max_pool("maxpool1", x, 3, 2, 0);
  x = n.conv1("Conv2d_3b_1x1", x, 80);
  x = n.conv("Conv2d_4a_3x3", x, 192, 3, 3);
  x = b.add_max_pool("maxpool2", x, 3, 2, 0);
  x = n.a("Mixed_5b", x, 32);
  x = n.a("Mixed_5c", x, 64);
  x = n.a("Mixed_5d", x, 64);
  x = n.b_block("Mixed_6a", x);
  x = n.c("Mixed_6b", x, 128);
  x = n.c("Mixed_6c", x, 160);
  x = n.c("Mixed_6d", x, 160);
  x = n.c("Mixed_6e", x, 192);
  x = n.d("Mixed_7a", x);
  x = n.e("Mixed_7b", x);
  x = n.e("Mixed_7c", x);
  x = b.add_global_avg_pool("avgpool", x);  // AdaptiveAvgPool2d(1); dropout is an identity
  x = b.add_flatten("flatten", x);
  x = b.add_linear("fc", x, 1000, 0.1f);
  return b.finish(x);
}

}  // namespace frugal::zoo
