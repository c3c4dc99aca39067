#include "frugal/compress/huffman.h"

#include <algorithm>
#include <queue>

#include "frugal/core/error.h"

namespace frugal::compress {
namespace {

// Unlimited Huffman code lengths by merging the two lightest trees.
std::vector<int> plain_lengths(std::span<const uint64_t> counts) {
  struct Tree {
    uint64_t weight;
    int id;
  };
  auto heavier = [](const Tree& a, const Tree& b) {
    return a.weight != b.weight ? a.weight > b.weight : a.id > b.id;
  };
  std::priority_queue<Tree, std::vector<Tree>, decltype(heavier)> heap(heavier);
  const int n = static_cast<int>(counts.size());
  std::vector<int> parent(static_cast<size_t>(2 * n), -1);
  int next = n;
  for (int s = 0; s < n; ++s)
    if (counts[static_cast<size_t>(s)] > 0) heap.push({counts[static_cast<size_t>(s)], s});
  std::vector<int> len(static_cast<size_t>(n), 0);
  if (heap.size() == 1) {
    len[static_cast<size_t>(heap.top().id)] = 1;
    return len;
  }
  while (heap.size() > 1) {
    const Tree a = heap.top();
    heap.pop();
    const Tree b = heap.top();
    heap.pop();
    parent[static_cast<size_t>(a.id)] = parent[static_cast<size_t>(b.id)] = next;
    heap.push({a.weight + b.weight, next++});
  }
  for (int s = 0; s < n; ++s) {
    if (counts[static_cast<size_t>(s)] == 0) continue;
    int d = 0;
    for (int at = s; parent[static_cast<size_t>(at)] >= 0; at = parent[static_cast<size_t>(at)])
      ++d;
    len[static_cast<size_t>(s)] = d;
  }
  return len;
}

}  // namespace

std::vector<uint8_t> huffman_lengths(std::span<const uint64_t> counts) {
  std::vector<uint64_t> c(counts.begin(), counts.end());
  for (;;) {
    const std::vector<int> len = plain_lengths(c);
    if (*std::max_element(len.begin(), len.end()) <= kMaxCodeLength)
      return {len.begin(), len.end()};
    for (auto& x : c)
      if (x > 0) x = (x + 1) / 2;  // flatter counts, shorter longest code
  }
}

uint64_t huffman_bits(std::span<const uint64_t> counts, std::span<const uint8_t> lengths) {
  uint64_t bits = 0;
  for (size_t s = 0; s < counts.size(); ++s) bits += counts[s] * lengths[s];
  return bits;
}

void BitWriter::put(uint32_t value, int bits) {
  for (int b = bits - 1; b >= 0; --b) {
    if (bits_ % 8 == 0) bytes_.push_back(0);
    if ((value >> b) & 1u) bytes_.back() |= static_cast<uint8_t>(0x80u >> (bits_ % 8));
    ++bits_;
  }
}

bool BitReader::bit() {
  if (at_ >= 8 * static_cast<uint64_t>(size_))
    throw UserError(what_ + ": bit stream ends early (truncated)");
  const bool b = (data_[at_ / 8] >> (7 - at_ % 8)) & 1u;
  ++at_;
  return b;
}

uint32_t BitReader::get(int bits) {
  uint32_t v = 0;
  for (int i = 0; i < bits; ++i) v = (v << 1) | static_cast<uint32_t>(bit());
  return v;
}

HuffmanCode::HuffmanCode(std::span<const uint8_t> lengths, const std::string& what)
    : lengths_(lengths.begin(), lengths.end()),
      code_(lengths.size(), 0),
      first_(kMaxCodeLength + 2, 0),
      count_(kMaxCodeLength + 2, 0),
      offset_(kMaxCodeLength + 2, 0),
      what_(what) {
  for (size_t s = 0; s < lengths_.size(); ++s) {
    if (lengths_[s] > kMaxCodeLength)
      throw UserError(what + ": Huffman code length " + std::to_string(lengths_[s]) + " over " +
                      std::to_string(kMaxCodeLength));
    if (lengths_[s]) ++count_[lengths_[s]];
  }
  // Kraft: the lengths must not oversubscribe the code space.
  uint64_t space = 0;
  for (int l = 1; l <= kMaxCodeLength; ++l)
    space += static_cast<uint64_t>(count_[static_cast<size_t>(l)]) << (kMaxCodeLength - l);
  if (space > (uint64_t{1} << kMaxCodeLength))
    throw UserError(what + ": Huffman code lengths are not a prefix code");
  uint32_t code = 0, index = 0;
  for (int l = 1; l <= kMaxCodeLength; ++l) {
    code = (code + (l > 1 ? count_[static_cast<size_t>(l - 1)] : 0)) << (l > 1 ? 1 : 0);
    first_[static_cast<size_t>(l)] = code;
    offset_[static_cast<size_t>(l)] = index;
    index += count_[static_cast<size_t>(l)];
  }
  std::vector<uint32_t> next(first_);
  sorted_.resize(index);
  for (int l = 1; l <= kMaxCodeLength; ++l)
    for (size_t s = 0; s < lengths_.size(); ++s)
      if (lengths_[s] == l) {
        code_[s] = next[static_cast<size_t>(l)];
        sorted_[offset_[static_cast<size_t>(l)] +
                (next[static_cast<size_t>(l)]++ - first_[static_cast<size_t>(l)])] =
            static_cast<uint32_t>(s);
      }
}

uint32_t HuffmanCode::decode(BitReader& in) const {
  uint32_t code = 0;
  for (size_t l = 1; l <= static_cast<size_t>(kMaxCodeLength); ++l) {
    code = (code << 1) | static_cast<uint32_t>(in.bit());
    if (code - first_[l] < count_[l] && code >= first_[l])
      return sorted_[offset_[l] + code - first_[l]];
  }
  throw UserError(what_ + ": invalid Huffman code in the stream");
}

}  // namespace frugal::compress
