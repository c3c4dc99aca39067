#include "frugal/train/data/image_folder.h"

#include <png.h>
// jpeglib.h needs FILE and size_t declared first.
#include <jerror.h>
#include <jpeglib.h>
#include <csetjmp>
#include <cstdio>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstddef>
#include <cstring>
#include <filesystem>

namespace frugal::train {
namespace fs = std::filesystem;
namespace {

constexpr int64_t kMaxSide = 1 << 15;
constexpr int64_t kMaxPixels = int64_t{1} << 26;

void check_dimensions(const std::string& path, int64_t w, int64_t h) {
  if (w <= 0 || h <= 0 || w > kMaxSide || h > kMaxSide || w * h > kMaxPixels)
    throw UserError(path + ": image of " + std::to_string(w) + "x" + std::to_string(h) +
                    " pixels is empty or too large (at most 32768 per side, 64 Mpixels)");
}

Image decode_png(const std::string& path, int channels) {
  png_image png;
  std::memset(&png, 0, sizeof(png));
  png.version = PNG_IMAGE_VERSION;
  if (!png_image_begin_read_from_file(&png, path.c_str()))
    throw UserError(path + ": corrupt PNG: " + png.message);
  Image img;
  img.width = png.width;
  img.height = png.height;
  img.channels = channels;
  try {
    check_dimensions(path, img.width, img.height);
  } catch (...) {
    png_image_free(&png);
    throw;
  }
  png.format = channels == 3 ? PNG_FORMAT_RGB : PNG_FORMAT_GRAY;
  img.pixels.resize(PNG_IMAGE_SIZE(png));
  // Alpha, if any, is composited onto black (background nullptr).
  if (!png_image_finish_read(&png, nullptr, img.pixels.data(), 0, nullptr)) {
    const std::string why = png.message;
    png_image_free(&png);
    throw UserError(path + ": corrupt PNG: " + why);
  }
  return img;
}

// libjpeg reports fatal errors through error_exit, which must not return: it jumps back
// to decode_jpeg_into. All state lives in this struct, outside the frame that calls
// setjmp, so nothing that frame holds changes between setjmp and longjmp.
struct JpegState {
  jpeg_decompress_struct cinfo;
  jpeg_error_mgr err;
  std::jmp_buf jump;
  char message[JMSG_LENGTH_MAX];
  FILE* file = nullptr;
  bool too_large = false;
  bool cmyk = false;
  bool truncated = false;
};

void jpeg_error_exit(j_common_ptr cinfo) {
  auto* s =
      reinterpret_cast<JpegState*>(reinterpret_cast<char*>(cinfo->err) - offsetof(JpegState, err));
  (*cinfo->err->format_message)(cinfo, s->message);
  std::longjmp(s->jump, 1);
}
// Warnings let the decoder carry on; a file that ends early is decoded with made-up
// data, so that one is remembered and reported as an error.
void jpeg_emit_message(j_common_ptr cinfo, int level) {
  if (level >= 0) return;  // trace messages
  ++cinfo->err->num_warnings;
  if (cinfo->err->msg_code == JWRN_JPEG_EOF) {
    auto* s = reinterpret_cast<JpegState*>(reinterpret_cast<char*>(cinfo->err) -
                                           offsetof(JpegState, err));
    s->truncated = true;
  }
}

// Returns false after a libjpeg error (message in s->message). Only C calls inside.
bool decode_jpeg_into(JpegState* s, int channels, std::vector<uint8_t>* pixels, int64_t* w,
                      int64_t* h) {
  if (setjmp(s->jump)) {
    jpeg_destroy_decompress(&s->cinfo);
    return false;
  }
  jpeg_create_decompress(&s->cinfo);
  jpeg_stdio_src(&s->cinfo, s->file);
  jpeg_read_header(&s->cinfo, TRUE);
  if (s->cinfo.jpeg_color_space == JCS_CMYK || s->cinfo.jpeg_color_space == JCS_YCCK) {
    s->cmyk = true;
    jpeg_destroy_decompress(&s->cinfo);
    return false;
  }
  s->cinfo.out_color_space = channels == 3 ? JCS_RGB : JCS_GRAYSCALE;
  jpeg_start_decompress(&s->cinfo);
  *w = s->cinfo.output_width;
  *h = s->cinfo.output_height;
  if (*w <= 0 || *h <= 0 || *w > kMaxSide || *h > kMaxSide || *w * *h > kMaxPixels) {
    s->too_large = true;
    jpeg_destroy_decompress(&s->cinfo);
    return false;
  }
  const size_t row = static_cast<size_t>(*w) * static_cast<size_t>(s->cinfo.output_components);
  pixels->resize(row * static_cast<size_t>(*h));
  while (s->cinfo.output_scanline < s->cinfo.output_height) {
    JSAMPROW line = pixels->data() + row * s->cinfo.output_scanline;
    jpeg_read_scanlines(&s->cinfo, &line, 1);
  }
  jpeg_finish_decompress(&s->cinfo);
  jpeg_destroy_decompress(&s->cinfo);
  return true;
}

Image decode_jpeg(const std::string& path, int channels) {
  auto state = std::make_unique<JpegState>();
  state->file = std::fopen(path.c_str(), "rb");
  if (!state->file) throw UserError(path + ": cannot open: " + std::strerror(errno));
  state->cinfo.err = jpeg_std_error(&state->err);
  state->err.error_exit = jpeg_error_exit;
  state->err.emit_message = jpeg_emit_message;
  Image img;
  img.channels = channels;
  const bool ok = decode_jpeg_into(state.get(), channels, &img.pixels, &img.width, &img.height);
  std::fclose(state->file);
  if (state->cmyk) throw UnsupportedError(path + ": CMYK JPEG images are not supported");
  if (state->too_large) check_dimensions(path, img.width, img.height);
  if (!ok) throw UserError(path + ": corrupt JPEG: " + state->message);
  if (state->truncated)
    throw UserError(path + ": truncated JPEG (the file ends before the image does)");
  return img;
}

bool has_image_extension(const fs::path& p) {
  std::string ext = p.extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(),
                 [](unsigned char c) { return std::tolower(c); });
  return ext == ".png" || ext == ".jpg" || ext == ".jpeg";
}

}  // namespace

Image decode_image(const std::string& path, int channels) {
  if (channels != 1 && channels != 3)
    throw UserError(path + ": images decode to 1 or 3 channels, not " + std::to_string(channels));
  FILE* f = std::fopen(path.c_str(), "rb");
  if (!f) throw UserError(path + ": cannot open: " + std::strerror(errno));
  uint8_t sig[8] = {};
  const size_t n = std::fread(sig, 1, sizeof(sig), f);
  std::fclose(f);
  static const uint8_t kPng[8] = {0x89, 'P', 'N', 'G', 0x0D, 0x0A, 0x1A, 0x0A};
  if (n == 8 && std::memcmp(sig, kPng, 8) == 0) return decode_png(path, channels);
  if (n >= 3 && sig[0] == 0xFF && sig[1] == 0xD8 && sig[2] == 0xFF)
    return decode_jpeg(path, channels);
  throw UserError(path + ": not a PNG or JPEG image (unrecognised signature)");
}

ImageF to_float(const Image& in) {
  ImageF out{in.width, in.height, in.channels,
             std::vector<float>(in.pixels.begin(), in.pixels.end())};
  return out;
}

ImageF resize_bilinear(const ImageF& in, int64_t out_h, int64_t out_w) {
  if (out_h <= 0 || out_w <= 0) throw UserError("resize: target size must be positive");
  ImageF out{out_w, out_h, in.channels,
             std::vector<float>(static_cast<size_t>(out_w * out_h * in.channels))};
  const int64_t c = in.channels;
  auto source = [](int64_t dst, int64_t in_size, int64_t out_size, int64_t& i0, int64_t& i1,
                   float& frac) {
    double s = (static_cast<double>(dst) + 0.5) * static_cast<double>(in_size) /
                   static_cast<double>(out_size) -
               0.5;
    s = std::clamp(s, 0.0, static_cast<double>(in_size - 1));
    i0 = static_cast<int64_t>(std::floor(s));
    i1 = std::min(i0 + 1, in_size - 1);
    frac = static_cast<float>(s - static_cast<double>(i0));
  };
  std::vector<int64_t> x0(static_cast<size_t>(out_w)), x1(static_cast<size_t>(out_w));
  std::vector<float> fx(static_cast<size_t>(out_w));
  for (int64_t x = 0; x < out_w; ++x) source(x, in.width, out_w, x0[x], x1[x], fx[x]);
  for (int64_t y = 0; y < out_h; ++y) {
    int64_t y0, y1;
    float fy;
    source(y, in.height, out_h, y0, y1, fy);
    const float* r0 = in.pixels.data() + y0 * in.width * c;
    const float* r1 = in.pixels.data() + y1 * in.width * c;
    float* dst = out.pixels.data() + y * out_w * c;
    for (int64_t x = 0; x < out_w; ++x)
      for (int64_t k = 0; k < c; ++k) {
        const float top = r0[x0[x] * c + k] + fx[x] * (r0[x1[x] * c + k] - r0[x0[x] * c + k]);
        const float bottom = r1[x0[x] * c + k] + fx[x] * (r1[x1[x] * c + k] - r1[x0[x] * c + k]);
        dst[x * c + k] = top + fy * (bottom - top);
      }
  }
  return out;
}

ImageF resize_shorter_side(const ImageF& in, int64_t shorter) {
  if (in.height <= in.width)
    return resize_bilinear(in, shorter, std::max<int64_t>(1, shorter * in.width / in.height));
  return resize_bilinear(in, std::max<int64_t>(1, shorter * in.height / in.width), shorter);
}

ImageF center_crop(const ImageF& in, int64_t crop_h, int64_t crop_w, const std::string& origin) {
  if (crop_h > in.height || crop_w > in.width)
    throw UserError(origin + ": image of " + std::to_string(in.width) + "x" +
                    std::to_string(in.height) + " (WxH) is smaller than the " +
                    std::to_string(crop_w) + "x" + std::to_string(crop_h) + " crop");
  const int64_t top = (in.height - crop_h) / 2, left = (in.width - crop_w) / 2, c = in.channels;
  ImageF out{crop_w, crop_h, c, std::vector<float>(static_cast<size_t>(crop_w * crop_h * c))};
  for (int64_t y = 0; y < crop_h; ++y)
    std::copy_n(in.pixels.begin() + ((top + y) * in.width + left) * c, crop_w * c,
                out.pixels.begin() + y * crop_w * c);
  return out;
}

ImageFolderDataset::ImageFolderDataset(const std::string& root, const DataOptions& options)
    : root_(root), options_(options), channels_(options.channels) {
  if (channels_ != 1 && channels_ != 3)
    throw UserError(root + ": images decode to 1 or 3 channels, not " + std::to_string(channels_));
  if (options_.resize < 0 || options_.crop_h < 0 || options_.crop_w < 0 ||
      (options_.crop_h > 0) != (options_.crop_w > 0))
    throw UserError(root + ": resize must be >= 0 and crop needs both a height and a width");
  std::error_code ec;
  if (!fs::is_directory(root, ec)) throw UserError(root + ": no such directory (image folder)");
  for (const auto& e : fs::directory_iterator(root, ec))
    if (e.is_directory() && e.path().filename().string()[0] != '.')
      classes_.push_back(e.path().filename().string());
  if (ec) throw UserError(root + ": cannot list: " + ec.message());
  std::sort(classes_.begin(), classes_.end());
  if (classes_.empty())
    throw UserError(root + ": no class sub-folders (expected ROOT/<class>/<image>)");
  for (size_t k = 0; k < classes_.size(); ++k) {
    std::vector<std::string> files;
    for (const auto& e : fs::directory_iterator(fs::path(root) / classes_[k], ec)) {
      if (!e.is_regular_file()) continue;
      if (has_image_extension(e.path()))
        files.push_back(e.path().string());
      else
        ++skipped_files_;
    }
    std::sort(files.begin(), files.end());
    for (auto& f : files) {
      files_.push_back(std::move(f));
      labels_.push_back(static_cast<int64_t>(k));
    }
  }
  if (files_.empty())
    throw UserError(root + ": no .png, .jpg or .jpeg images in its class folders");
  if (options_.crop_h > 0) {
    out_h_ = options_.crop_h;
    out_w_ = options_.crop_w;
  } else if (options_.resize > 0) {
    out_h_ = out_w_ = options_.resize;  // shorter side to S, then the centre S x S
  } else {
    const Image first = decode_image(files_[0], channels_);
    out_h_ = first.height;
    out_w_ = first.width;
  }
  check_sample_shape({channels_, out_h_, out_w_}, options_.expected_sample_shape, root);
  check_labels(labels_, options_.num_classes, root);
  if (options_.num_classes > 0 && options_.num_classes < static_cast<int64_t>(classes_.size()))
    throw UserError(root + ": " + std::to_string(classes_.size()) + " class folders for " +
                    std::to_string(options_.num_classes) + " classes");
  preprocess_factors(options_.preprocess, channels_, true, scale_c_, shift_c_, root);
}

std::string ImageFolderDataset::describe() const {
  std::string s = root_ + ": " + std::to_string(size()) + " images in " +
                  std::to_string(num_classes()) + " classes, " + shape_str(sample_shape());
  if (options_.resize > 0) s += ", shorter side resized to " + std::to_string(options_.resize);
  if (options_.crop_h > 0)
    s += ", centre crop " + std::to_string(options_.crop_h) + "x" + std::to_string(options_.crop_w);
  s += ", " + describe_preprocess(options_.preprocess, true);
  if (skipped_files_ > 0) s += ", " + std::to_string(skipped_files_) + " other files ignored";
  return s;
}

void ImageFolderDataset::load(int64_t i, float* dst) const {
  const std::string& path = files_[static_cast<size_t>(i)];
  ImageF img = to_float(decode_image(path, static_cast<int>(channels_)));
  if (options_.resize > 0) img = resize_shorter_side(img, options_.resize);
  if (options_.crop_h > 0 || options_.resize > 0) {
    img = center_crop(img, out_h_, out_w_, path);
  } else if (img.height != out_h_ || img.width != out_w_) {
    throw UserError(path + ": image is " + std::to_string(img.width) + "x" +
                    std::to_string(img.height) + " (WxH), expected " + std::to_string(out_w_) +
                    "x" + std::to_string(out_h_) + " like the others (use resize/crop options)");
  }
  const int64_t hw = out_h_ * out_w_;
  for (int64_t p = 0; p < hw; ++p)
    for (int64_t c = 0; c < channels_; ++c)
      dst[c * hw + p] =
          img.pixels[static_cast<size_t>(p * channels_ + c)] * scale_c_[static_cast<size_t>(c)] +
          shift_c_[static_cast<size_t>(c)];
}

void ImageFolderDataset::get_batch(std::span<const int64_t> indices, Tensor& images,
                                   Tensor& labels) const {
  const int64_t n = static_cast<int64_t>(indices.size());
  const Shape want = {n, channels_, out_h_, out_w_};
  if (images.dtype() != DType::kF32 || images.shape() != want) images = Tensor(DType::kF32, want);
  if (labels.dtype() != DType::kI64 || labels.shape() != Shape{n})
    labels = Tensor(DType::kI64, {n});
  const int64_t sample = channels_ * out_h_ * out_w_;
  for (int64_t i = 0; i < n; ++i) {
    const int64_t k = indices[static_cast<size_t>(i)];
    if (k < 0 || k >= size())
      throw InternalError("ImageFolderDataset::get_batch: sample " + std::to_string(k) + " of " +
                          std::to_string(size()));
    load(k, images.data<float>() + i * sample);
    labels.data<int64_t>()[i] = labels_[static_cast<size_t>(k)];
  }
}

}  // namespace frugal::train
