// SHA-256 (FIPS 180-4) of bytes and files: the digest that identifies a model in a Record,
// so that two measurements of "resnet18.onnx" are known to be of the same bytes.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string>

namespace frugal::measure {

class Sha256 {
 public:
  Sha256();
  void update(std::span<const uint8_t> bytes);
  void update(const std::string& text);
  // Finishes the hash; the object must not be updated afterwards.
  std::array<uint8_t, 32> digest();
  std::string hex_digest();  // 64 lowercase hex digits

 private:
  void compress(const uint8_t* block);
  std::array<uint32_t, 8> state_;
  std::array<uint8_t, 64> buffer_{};
  size_t buffered_ = 0;
  uint64_t total_bytes_ = 0;
};

std::string sha256_hex(std::span<const uint8_t> bytes);
std::string sha256_hex(const std::string& text);
// Digest of a file's bytes, read in chunks. Throws UserError naming the file when it
// cannot be read.
std::string sha256_file(const std::string& path);

}  // namespace frugal::measure
