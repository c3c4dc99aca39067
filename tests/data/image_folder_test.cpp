#include <gtest/gtest.h>

#include <png.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <string>
#include <vector>

#include <jpeglib.h>

#include "frugal/core/error.h"
#include "frugal/train/data/dataset.h"
#include "frugal/train/data/image_folder.h"

using namespace frugal;
using namespace frugal::train;
namespace fs = std::filesystem;

namespace {

class TempDir {
 public:
  TempDir() {
    path_ = fs::temp_directory_path() /
            ("frugal-img-" + std::to_string(::getpid()) + "-" + std::to_string(n_++));
    fs::remove_all(path_);
    fs::create_directories(path_);
  }
  ~TempDir() { fs::remove_all(path_); }
  std::string operator/(const std::string& name) const { return (path_ / name).string(); }
  std::string str() const { return path_.string(); }

 private:
  fs::path path_;
  static inline int n_ = 0;
};

// PNG written with libpng's simplified API: pixels [h][w][channels].
void write_png(const std::string& path, int w, int h, int channels,
               const std::vector<uint8_t>& px) {
  fs::create_directories(fs::path(path).parent_path());
  png_image img{};
  img.version = PNG_IMAGE_VERSION;
  img.width = static_cast<png_uint_32>(w);
  img.height = static_cast<png_uint_32>(h);
  img.format = channels == 3 ? PNG_FORMAT_RGB : PNG_FORMAT_GRAY;
  ASSERT_TRUE(png_image_write_to_file(&img, path.c_str(), 0, px.data(), 0, nullptr)) << img.message;
}

void write_jpeg(const std::string& path, int w, int h, const std::vector<uint8_t>& rgb) {
  fs::create_directories(fs::path(path).parent_path());
  FILE* f = std::fopen(path.c_str(), "wb");
  ASSERT_NE(f, nullptr);
  jpeg_compress_struct c;
  jpeg_error_mgr err;
  c.err = jpeg_std_error(&err);
  jpeg_create_compress(&c);
  jpeg_stdio_dest(&c, f);
  c.image_width = static_cast<JDIMENSION>(w);
  c.image_height = static_cast<JDIMENSION>(h);
  c.input_components = 3;
  c.in_color_space = JCS_RGB;
  jpeg_set_defaults(&c);
  jpeg_set_quality(&c, 100, TRUE);
  jpeg_start_compress(&c, TRUE);
  for (int y = 0; y < h; ++y) {
    JSAMPROW row = const_cast<uint8_t*>(rgb.data()) + y * w * 3;
    jpeg_write_scanlines(&c, &row, 1);
  }
  jpeg_finish_compress(&c);
  jpeg_destroy_compress(&c);
  std::fclose(f);
}

std::vector<uint8_t> solid(int w, int h, std::vector<uint8_t> colour) {
  std::vector<uint8_t> px;
  for (int i = 0; i < w * h; ++i) px.insert(px.end(), colour.begin(), colour.end());
  return px;
}

// Grey 4x4 with value 10 y + x.
std::vector<uint8_t> grey_ramp() {
  std::vector<uint8_t> px;
  for (int y = 0; y < 4; ++y)
    for (int x = 0; x < 4; ++x) px.push_back(static_cast<uint8_t>(10 * y + x));
  return px;
}

// Expects `stmt` to throw a UserError whose message contains `text`; shows the message.
#define EXPECT_USER_ERROR(stmt, text)                              \
  do {                                                             \
    const std::string message_ = error_of([&] { stmt; });          \
    EXPECT_NE(message_.find(text), std::string::npos) << message_; \
  } while (0)

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const UserError& e) {
    return e.what();
  }
  return "(no error)";
}

}  // namespace

TEST(Resize, BilinearWithAlignedPixelCentres) {
  // 2x2 -> 4x4: source x = (x + 0.5) / 2 - 0.5 = -0.25 (clamped to 0), 0.25, 0.75, 1.25 (1).
  ImageF in{2, 2, 1, {0, 10, 20, 30}};
  const ImageF up = resize_bilinear(in, 4, 4);
  const std::vector<float> row0 = {0, 2.5f, 7.5f, 10};
  for (int x = 0; x < 4; ++x) EXPECT_FLOAT_EQ(up.pixels[x], row0[x]);
  EXPECT_FLOAT_EQ(up.pixels[1 * 4 + 1], 7.5f);  // (0.25, 0.25): 0 + 2.5 + 0.25 * 20
  // 4x4 -> 2x2 samples at 0.5 and 2.5: the mean of each 2x2 block.
  std::vector<float> ramp;
  for (uint8_t v : grey_ramp()) ramp.push_back(v);
  const ImageF down = resize_bilinear(ImageF{4, 4, 1, ramp}, 2, 2);
  EXPECT_EQ(down.pixels, (std::vector<float>{5.5f, 7.5f, 25.5f, 27.5f}));
  // Shorter side: 8 wide x 4 high to shorter side 2 -> 4 x 2.
  const ImageF wide = resize_shorter_side(ImageF{8, 4, 1, std::vector<float>(32, 1.0f)}, 2);
  EXPECT_EQ(wide.width, 4);
  EXPECT_EQ(wide.height, 2);
}

TEST(Resize, CentreCrop) {
  std::vector<float> ramp;
  for (uint8_t v : grey_ramp()) ramp.push_back(v);
  const ImageF c = center_crop(ImageF{4, 4, 1, ramp}, 2, 2, "x");
  EXPECT_EQ(c.pixels, (std::vector<float>{11, 12, 21, 22}));
  const ImageF odd = center_crop(ImageF{4, 4, 1, ramp}, 3, 1, "x");  // top 0, left 1
  EXPECT_EQ(odd.pixels, (std::vector<float>{1, 11, 21}));
  EXPECT_USER_ERROR(center_crop(ImageF{4, 4, 1, ramp}, 5, 5, "a.png"),
                    "a.png: image of 4x4 (WxH) is smaller than the 5x5 crop");
}

TEST(ImageFolder, ClassesFilesAndPixels) {
  TempDir d;
  write_png(d / "cat/b.png", 4, 4, 3, solid(4, 4, {100, 150, 200}));
  write_png(d / "cat/a.PNG", 4, 4, 3, solid(4, 4, {0, 51, 255}));
  write_jpeg(d / "dog/c.jpg", 4, 4, solid(4, 4, {200, 100, 50}));
  std::ofstream(d / "dog/notes.txt") << "not an image";
  fs::create_directories(d / ".cache");
  ImageFolderDataset ds(d.str());
  EXPECT_EQ(ds.class_names(), (std::vector<std::string>{"cat", "dog"}));
  ASSERT_EQ(ds.size(), 3);
  EXPECT_EQ(ds.sample_shape(), (Shape{3, 4, 4}));
  EXPECT_EQ(ds.file(0), d / "cat/a.PNG");
  EXPECT_EQ(ds.label(2), 1);
  EXPECT_NE(ds.describe().find("1 other files ignored"), std::string::npos);
  const Batch b = ds.get_range(0, 3);
  EXPECT_EQ(b.labels.to_int64(), (std::vector<int64_t>{0, 0, 1}));
  const float* p = b.images.data<float>();
  EXPECT_FLOAT_EQ(p[0], 0.0f);                // a.png, R plane
  EXPECT_FLOAT_EQ(p[16], 51.0f / 255);        // a.png, G plane
  EXPECT_FLOAT_EQ(p[48 + 32], 200.0f / 255);  // b.png, B plane
  // JPEG at quality 100 of a flat colour decodes within a couple of levels.
  EXPECT_NEAR(p[96] * 255, 200, 2.5);
  EXPECT_NEAR(p[96 + 16] * 255, 100, 2.5);
  EXPECT_NEAR(p[96 + 32] * 255, 50, 2.5);
}

TEST(ImageFolder, ResizeCropAndNormalise) {
  TempDir d;
  write_png(d / "only/ramp.png", 4, 4, 1, grey_ramp());
  DataOptions o;
  o.channels = 1;
  o.resize = 2;
  o.preprocess.scale = 1.0;
  ImageFolderDataset ds(d.str(), o);
  EXPECT_EQ(ds.sample_shape(), (Shape{1, 2, 2}));
  const Batch b = ds.get_range(0, 1);
  EXPECT_EQ(std::vector<float>(b.images.data<float>(), b.images.data<float>() + 4),
            (std::vector<float>{5.5f, 7.5f, 25.5f, 27.5f}));

  write_png(d / "rgb/x.png", 2, 2, 3, solid(2, 2, {100, 150, 200}));
  DataOptions n;
  n.preprocess.mean = {0.5f, 0.5f, 0.5f};
  n.preprocess.std = {0.25f, 0.5f, 1.0f};
  n.crop_h = n.crop_w = 2;
  n.channels = 3;
  ImageFolderDataset rgb(d.str(), n);  // "only" is read as RGB too: grey replicated
  const Batch c = rgb.get_range(1, 1);
  EXPECT_FLOAT_EQ(c.images.data<float>()[0], (100.0f / 255 - 0.5f) / 0.25f);
  EXPECT_FLOAT_EQ(c.images.data<float>()[4], (150.0f / 255 - 0.5f) / 0.5f);
  EXPECT_FLOAT_EQ(c.images.data<float>()[8], (200.0f / 255 - 0.5f) / 1.0f);
}

TEST(ImageFolder, BadInputGivesOneLineReasons) {
  TempDir d;
  write_png(d / "a/one.png", 4, 4, 3, solid(4, 4, {1, 2, 3}));
  write_png(d / "b/two.png", 5, 4, 3, solid(5, 4, {1, 2, 3}));
  ImageFolderDataset mixed(d.str());
  EXPECT_USER_ERROR(mixed.get_range(1, 1), "two.png: image is 5x4 (WxH), expected 4x4");

  DataOptions want;
  want.expected_sample_shape = {3, 28, 28};
  EXPECT_USER_ERROR(ImageFolderDataset(d.str(), want),
                    "samples are 3x4x4 (CxHxW), expected 3x28x28");

  DataOptions big_crop;
  big_crop.crop_h = big_crop.crop_w = 8;
  ImageFolderDataset cropped(d.str(), big_crop);
  EXPECT_USER_ERROR(cropped.get_range(0, 1), "one.png: image of 4x4");

  std::ofstream(d / "a/zz-fake.png") << "this is text";
  ImageFolderDataset fake(d.str());
  EXPECT_USER_ERROR(fake.get_range(1, 1), "zz-fake.png: not a PNG or JPEG");

  // Truncated files.
  TempDir t;
  write_png(t / "c/full.png", 8, 8, 3, solid(8, 8, {9, 9, 9}));
  std::vector<uint8_t> texture;  // enough scan data that a cut lands inside it
  for (int i = 0; i < 64 * 64 * 3; ++i) texture.push_back(static_cast<uint8_t>((i * 37) % 251));
  write_jpeg(t / "c/full.jpg", 64, 64, texture);
  for (const char* name : {"full.png", "full.jpg"}) {
    const std::string src = t / (std::string("c/") + name);
    std::vector<char> bytes(
        (std::istreambuf_iterator<char>(std::ifstream(src, std::ios::binary).rdbuf())), {});
    std::ofstream(t / (std::string("c/cut-") + name), std::ios::binary)
        .write(bytes.data(), static_cast<std::streamsize>(bytes.size() * 3 / 4));
  }
  EXPECT_USER_ERROR(decode_image(t / "c/cut-full.png", 3), "cut-full.png: corrupt PNG");
  EXPECT_USER_ERROR(decode_image(t / "c/cut-full.jpg", 3), "cut-full.jpg: truncated JPEG");
  EXPECT_USER_ERROR(decode_image(t / "c/none.png", 3), "none.png: cannot open");

  EXPECT_USER_ERROR(ImageFolderDataset("/nonexistent/frugal-images"), "no such directory");
  TempDir empty;
  EXPECT_USER_ERROR(ImageFolderDataset(empty.str()), "no class sub-folders");
  fs::create_directories(empty / "k");
  EXPECT_USER_ERROR(ImageFolderDataset(empty.str()), "no .png, .jpg or .jpeg images");
  EXPECT_USER_ERROR(open_dataset("folder:" + empty.str()), empty.str());
}
