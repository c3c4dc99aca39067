// Huffman coding of small alphabets (Deep Compression's third stage: cluster indices and
// relative sparse indices): code lengths from symbol counts (limited to kMaxCodeLength
// bits), canonical codes, and a bit stream writer/reader shared by the container
// (compress/container.h).
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace frugal::compress {

inline constexpr int kMaxCodeLength = 24;

// Code length per symbol (0: the symbol never occurs) of an optimal prefix code for
// `counts`, limited to kMaxCodeLength bits (counts are halved until the code fits). A lone
// symbol gets length 1.
std::vector<uint8_t> huffman_lengths(std::span<const uint64_t> counts);

// Bits of a stream with these counts and lengths.
uint64_t huffman_bits(std::span<const uint64_t> counts, std::span<const uint8_t> lengths);

// MSB-first bit writer.
class BitWriter {
 public:
  void put(uint32_t value, int bits);
  uint64_t bits() const { return bits_; }
  std::vector<uint8_t> finish() const { return bytes_; }

 private:
  std::vector<uint8_t> bytes_;
  uint64_t bits_ = 0;
};

// MSB-first bit reader over `size` bytes; reading past the end throws UserError naming
// `what`.
class BitReader {
 public:
  BitReader(const uint8_t* data, size_t size, std::string what)
      : data_(data), size_(size), what_(std::move(what)) {}
  uint32_t get(int bits);
  bool bit();

 private:
  const uint8_t* data_;
  size_t size_;
  uint64_t at_ = 0;
  std::string what_;
};

// Canonical Huffman code of `lengths` (symbols ordered by length, then by value).
class HuffmanCode {
 public:
  // UserError naming `what` when the lengths do not form a prefix code.
  HuffmanCode(std::span<const uint8_t> lengths, const std::string& what);
  void encode(BitWriter& out, uint32_t symbol) const { out.put(code_[symbol], lengths_[symbol]); }
  uint32_t decode(BitReader& in) const;

 private:
  std::vector<uint8_t> lengths_;
  std::vector<uint32_t> code_;
  // Per length L: the first canonical code, how many codes, the index of the first symbol
  // of that length in `sorted_`.
  std::vector<uint32_t> first_, count_, offset_;
  std::vector<uint32_t> sorted_;
  std::string what_;
};

}  // namespace frugal::compress
