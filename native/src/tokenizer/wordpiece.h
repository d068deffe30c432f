// wordpiece.h: the native BERT WordPiece tokenizer (the core of
// ConvBertTokenizerFast), with Hugging Face's Rust semantics: added tokens
// matched on the raw text, BertNormalizer (clean text, CJK spacing, strip
// accents, per-code-point lowercase), BertPreTokenizer (whitespace and
// punctuation), and greedy longest-match WordPiece over a byte trie.
// Input is the JS string's UTF-16; offsets are [start, end) UTF-16 indices into it.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "convbert/status.h"

namespace convbert {
namespace tokenizer {

// The options of BertNormalizer + WordPiece, as HF's tokenizer.json names them.
struct WordPieceOptions {
  bool clean_text = true;
  bool handle_chinese_chars = true;
  bool strip_accents = true;
  bool lowercase = true;
  std::string unk_token = "[UNK]";
  std::string continuing_subword_prefix = "##";
  int max_input_chars_per_word = 100;  // counted in code points of the normalized word
};

// One tokenized text: ids[i] covers text[offsets[2i], offsets[2i+1]) (UTF-16
// units), and words[i] is the index of the pre-tokenizer word it came from.
struct Encoding {
  std::vector<int32_t> ids;
  std::vector<uint32_t> offsets;
  std::vector<int32_t> words;
  void clear() {
    ids.clear();
    offsets.clear();
    words.clear();
  }
  void push(int32_t id, uint32_t start, uint32_t end, int32_t word) {
    ids.push_back(id);
    offsets.push_back(start);
    offsets.push_back(end);
    words.push_back(word);
  }
};

// A byte trie over the vocabulary. Edges live in one open-addressing hash
// table keyed by (node, byte), so a lookup is one probe on average.
class ByteTrie {
 public:
  void insert(const std::string& key, int32_t id);
  void finish();  // builds the edge table; call once after the inserts
  int32_t child(int32_t node, uint8_t byte) const {
    const uint64_t key = (static_cast<uint64_t>(node) << 8) | byte;
    for (size_t h = hash(key);; h = (h + 1) & mask_) {
      const uint64_t k = keys_[h];
      if (k == key) return vals_[h];
      if (k == kEmpty) return -1;
    }
  }
  int32_t id(int32_t node) const { return ids_[static_cast<size_t>(node)]; }
  int32_t walk(int32_t node, const std::string& s) const;  // -1 when s leaves the trie
  static constexpr int32_t kRoot = 0;

 private:
  static constexpr uint64_t kEmpty = ~0ull;
  size_t hash(uint64_t key) const { return static_cast<size_t>((key * 0x9E3779B97F4A7C15ull) >> shift_); }
  void put(uint64_t key, int32_t val);
  std::vector<int32_t> ids_{-1};  // token id per node, -1 when none ends there
  size_t edges_ = 0;
  std::vector<uint64_t> keys_;
  std::vector<int32_t> vals_;
  size_t mask_ = 0;
  int shift_ = 64;
};

class WordPieceTokenizer {
 public:
  // vocab: tokens in UTF-8, id = index; a repeated token keeps its last id (as
  // HF's vocab dict does). added: tokens matched verbatim (case-sensitive) in
  // the raw UTF-16 text before normalization, with their ids (the specials).
  static Status Create(const std::vector<std::string>& vocab, const std::vector<std::u16string>& added,
                       const std::vector<int32_t>& added_ids, const WordPieceOptions& opts,
                       std::shared_ptr<const WordPieceTokenizer>* out);

  // Thread-safe: the tokenizer is immutable after Create. Fails only when a
  // word needs the unk token and the vocab lacks it (HF's "Missing [UNK]").
  Status Encode(const char16_t* text, size_t n, Encoding* out) const;
  // Encodes texts[i] into out[i], spread over up to `threads` threads.
  Status EncodeBatch(const std::vector<std::u16string>& texts, int threads, std::vector<Encoding>* out) const;

  int32_t unk_id() const { return unk_id_; }
  size_t vocab_size() const { return vocab_size_; }

 private:
  struct Scratch;
  struct Added {
    std::u16string text;
    int32_t id;
  };
  bool FindAdded(const char16_t* t, size_t from, size_t n, size_t* at, size_t* len, int32_t* id) const;
  void Segment(const char16_t* t, size_t a, size_t b, Scratch& sc, Encoding* out, int32_t* word) const;
  void PushNormalized(uint32_t cp, uint8_t flags, uint32_t s, uint32_t e, Scratch& sc, Encoding* out,
                      int32_t* word) const;
  void PushChar(uint32_t cp, uint8_t flags, uint32_t s, uint32_t e, Scratch& sc, Encoding* out, int32_t* word) const;
  void Append(uint32_t cp, uint32_t s, uint32_t e, Scratch& sc) const;
  void EndWord(Scratch& sc, Encoding* out, int32_t* word) const;

  WordPieceOptions opts_;
  ByteTrie trie_;
  int32_t prefix_node_ = -1;  // trie node after the continuing-subword prefix
  int32_t first_[2][256];     // child of the root / of prefix_node_ for each first byte (-1: none)
  int32_t unk_id_ = -1;       // -1 when the vocab lacks the unk token (pushed as -1, reported by Encode)
  size_t vocab_size_ = 0;
  std::vector<Added> added_;          // longest first, so the first hit at a position is the longest
  std::vector<uint8_t> added_first_;  // 65536 entries: 1 when some added token starts with that unit
};

}  // namespace tokenizer
}  // namespace convbert
