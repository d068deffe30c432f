// wordpiece.cc: the native BERT WordPiece tokenizer (see wordpiece.h).
// One pass over the UTF-16 text: each code point is classified by the
// generated tables, normalized (strip, lowercase) into 0..n code points that
// all keep the original [start, end) span, and fed to the pre-tokenizer; a
// finished word goes through WordPiece at once. WordPiece walks the byte trie
// from each piece start and keeps the longest token seen, so a word costs
// O(bytes x longest token) and words over max_input_chars_per_word are [UNK]
// without being looked at: linear time in the input.
#include "wordpiece.h"

#include <algorithm>
#include <atomic>
#include <thread>

#include "unicode_tables.h"

namespace convbert {
namespace tokenizer {

// ---- ByteTrie ----

void ByteTrie::insert(const std::string& key, int32_t id) {
  int32_t node = kRoot;
  for (unsigned char b : key) {
    int32_t next = mask_ != 0 ? child(node, b) : -1;
    if (next < 0) {
      next = static_cast<int32_t>(ids_.size());
      ids_.push_back(-1);
      put((static_cast<uint64_t>(node) << 8) | b, next);
    }
    node = next;
  }
  ids_[static_cast<size_t>(node)] = id;
}

void ByteTrie::put(uint64_t key, int32_t val) {
  // Grow at 50% load so probes stay short.
  if (keys_.empty() || (edges_ + 1) * 2 > keys_.size()) {
    size_t cap = keys_.empty() ? 1024 : keys_.size() * 2;
    std::vector<uint64_t> ok = std::move(keys_);
    std::vector<int32_t> ov = std::move(vals_);
    keys_.assign(cap, kEmpty);
    vals_.assign(cap, -1);
    mask_ = cap - 1;
    shift_ = 64 - __builtin_ctzll(static_cast<unsigned long long>(cap));
    for (size_t i = 0; i < ok.size(); ++i) {
      if (ok[i] == kEmpty) continue;
      size_t h = hash(ok[i]);
      while (keys_[h] != kEmpty) h = (h + 1) & mask_;
      keys_[h] = ok[i];
      vals_[h] = ov[i];
    }
  }
  size_t h = hash(key);
  while (keys_[h] != kEmpty) h = (h + 1) & mask_;
  keys_[h] = key;
  vals_[h] = val;
  ++edges_;
}

void ByteTrie::finish() {
  if (keys_.empty()) {
    keys_.assign(2, kEmpty);
    vals_.assign(2, -1);
    mask_ = 1;
    shift_ = 63;
  }
}

int32_t ByteTrie::walk(int32_t node, const std::string& s) const {
  for (unsigned char b : s) {
    if (node < 0) return -1;
    node = child(node, b);
  }
  return node;
}

// ---- WordPieceTokenizer ----

namespace {

constexpr int kMaxOut = 4;

inline uint8_t flags_of(uint32_t cp) { return unicode_flags(cp); }

inline int utf8_encode(uint32_t cp, char* out) {
  if (cp < 0x80) {
    out[0] = static_cast<char>(cp);
    return 1;
  }
  if (cp < 0x800) {
    out[0] = static_cast<char>(0xC0 | (cp >> 6));
    out[1] = static_cast<char>(0x80 | (cp & 0x3F));
    return 2;
  }
  if (cp < 0x10000) {
    out[0] = static_cast<char>(0xE0 | (cp >> 12));
    out[1] = static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out[2] = static_cast<char>(0x80 | (cp & 0x3F));
    return 3;
  }
  out[0] = static_cast<char>(0xF0 | (cp >> 18));
  out[1] = static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
  out[2] = static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
  out[3] = static_cast<char>(0x80 | (cp & 0x3F));
  return 4;
}

}  // namespace

// Per-thread working buffers for the word being built.
struct WordPieceTokenizer::Scratch {
  std::vector<uint32_t> cps, starts, ends;  // the word's normalized code points and their spans
  uint32_t wend = 0;                        // end of the word's last code point (kept past the cap)
  std::string bytes;                        // the word in UTF-8
  std::vector<uint32_t> char_at;            // char index at each char-start byte (and at the end)
                                            // both sized 4 bytes per code point, reused
};

Status WordPieceTokenizer::Create(const std::vector<std::string>& vocab, const std::vector<std::u16string>& added,
                                  const std::vector<int32_t>& added_ids, const WordPieceOptions& opts,
                                  std::shared_ptr<const WordPieceTokenizer>* out) {
  if (vocab.empty()) return Status::Error(StatusCode::kInvalidArgument, "vocab: expected at least one token, got none");
  if (vocab.size() > 0x7fffffff) return Status::Error(StatusCode::kInvalidArgument, "vocab: too many tokens");
  if (added.size() != added_ids.size())
    return Status::Error(StatusCode::kInvalidArgument, "addedTokens and addedIds must have the same length");
  if (opts.max_input_chars_per_word < 0)
    return Status::Error(StatusCode::kInvalidArgument, "maxInputCharsPerWord: expected >= 0");
  auto tok = std::make_shared<WordPieceTokenizer>();
  tok->opts_ = opts;
  tok->vocab_size_ = vocab.size();
  for (size_t i = 0; i < vocab.size(); ++i) tok->trie_.insert(vocab[i], static_cast<int32_t>(i));
  tok->trie_.finish();
  // A vocab without the unk token loads (as in HF); encoding fails only when a word needs it.
  const int32_t unk_node = tok->trie_.walk(ByteTrie::kRoot, opts.unk_token);
  tok->unk_id_ = unk_node >= 0 ? tok->trie_.id(unk_node) : -1;
  tok->prefix_node_ = tok->trie_.walk(ByteTrie::kRoot, opts.continuing_subword_prefix);
  for (int b = 0; b < 256; ++b) {
    tok->first_[0][b] = tok->trie_.child(ByteTrie::kRoot, static_cast<uint8_t>(b));
    tok->first_[1][b] = tok->prefix_node_ >= 0 ? tok->trie_.child(tok->prefix_node_, static_cast<uint8_t>(b)) : -1;
  }
  tok->added_first_.assign(65536, 0);
  for (size_t i = 0; i < added.size(); ++i) {
    if (added[i].empty()) continue;
    // An added token's id is a vocab id or one of the ids right after the vocab (at most
    // one per added token), like the ones the TypeScript loader accepts from files.
    const size_t limit = vocab.size() + added.size();
    if (added_ids[i] < 0 || static_cast<size_t>(added_ids[i]) >= limit)
      return Status::Error(StatusCode::kInvalidArgument, "addedIds[" + std::to_string(i) + "]: expected an id in [0, " +
                                                             std::to_string(limit) + "), got " +
                                                             std::to_string(added_ids[i]));
    tok->added_.push_back({added[i], added_ids[i]});
    tok->added_first_[added[i][0]] = 1;
  }
  std::stable_sort(tok->added_.begin(), tok->added_.end(),
                   [](const Added& a, const Added& b) { return a.text.size() > b.text.size(); });
  *out = std::move(tok);
  return Status::Ok();
}

bool WordPieceTokenizer::FindAdded(const char16_t* t, size_t from, size_t n, size_t* at, size_t* len,
                                   int32_t* id) const {
  if (added_.empty()) return false;
  for (size_t i = from; i < n; ++i) {
    if (!added_first_[t[i]]) continue;
    for (const Added& a : added_) {
      const size_t L = a.text.size();
      if (L <= n - i && std::equal(a.text.begin(), a.text.end(), t + i)) {
        *at = i;
        *len = L;
        *id = a.id;
        return true;
      }
    }
  }
  return false;
}

Status WordPieceTokenizer::Encode(const char16_t* t, size_t n, Encoding* out) const {
  thread_local Scratch sc;
  out->clear();
  sc.cps.clear();
  sc.starts.clear();
  sc.ends.clear();
  int32_t word = 0;
  size_t pos = 0;
  for (;;) {
    size_t at = n, len = 0;
    int32_t id = -1;
    const bool hit = FindAdded(t, pos, n, &at, &len, &id);
    Segment(t, pos, at, sc, out, &word);
    if (!hit) break;
    out->push(id, static_cast<uint32_t>(at), static_cast<uint32_t>(at + len), word++);
    pos = at + len;
  }
  if (unk_id_ < 0) {
    for (int32_t id : out->ids) {
      if (id < 0) {
        out->clear();
        return Status::Error(StatusCode::kInvalidArgument,
                             "WordPiece error: Missing " + opts_.unk_token + " token from the vocabulary");
      }
    }
  }
  return Status::Ok();
}

void WordPieceTokenizer::Segment(const char16_t* t, size_t a, size_t b, Scratch& sc, Encoding* out,
                                 int32_t* word) const {
  const bool clean = opts_.clean_text;
  const bool cjk = opts_.handle_chinese_chars;
  for (size_t i = a; i < b;) {
    const uint32_t s = static_cast<uint32_t>(i);
    uint32_t cp = t[i++];
    if (cp < 0x80) {
      // ASCII: no accents to strip, lowercase is A-Z only.
      const uint8_t f = flags_of(cp);
      if (clean && (f & kFlagRemove)) continue;
      if (f & (kFlagSpace | kFlagPunct)) {
        PushChar(cp, f, s, s + 1, sc, out, word);
        continue;
      }
      if (opts_.lowercase && cp >= 'A' && cp <= 'Z') cp += 32;
      Append(cp, s, s + 1, sc);
      continue;
    }
    if (cp >= 0xD800 && cp <= 0xDFFF) {
      if (cp <= 0xDBFF && i < b && t[i] >= 0xDC00 && t[i] <= 0xDFFF) {
        cp = 0x10000 + ((cp - 0xD800) << 10) + (t[i] - 0xDC00);
        ++i;
      } else {
        cp = 0xFFFD;  // a lone surrogate, as Node hands it to Rust
      }
    }
    const uint32_t e = static_cast<uint32_t>(i);
    const uint8_t f = flags_of(cp);
    if (clean && (f & kFlagRemove)) continue;
    if (cjk && is_cjk(cp)) {
      EndWord(sc, out, word);
      PushNormalized(cp, f, s, e, sc, out, word);
      EndWord(sc, out, word);
      continue;
    }
    PushNormalized(cp, f, s, e, sc, out, word);
  }
  EndWord(sc, out, word);
}

void WordPieceTokenizer::PushNormalized(uint32_t cp, uint8_t f, uint32_t s, uint32_t e, Scratch& sc, Encoding* out,
                                        int32_t* word) const {
  uint32_t a[kMaxOut];
  int na = 1;
  a[0] = cp;
  if (opts_.strip_accents && (f & kFlagStrip)) na = strip_map(cp, a);
  for (int i = 0; i < na; ++i) {
    const uint8_t fi = a[i] == cp ? f : flags_of(a[i]);
    if (opts_.lowercase && (fi & kFlagLower)) {
      uint32_t l[kMaxOut];
      const int nl = lower_map(a[i], l);
      for (int k = 0; k < nl; ++k) PushChar(l[k], l[k] == a[i] ? fi : flags_of(l[k]), s, e, sc, out, word);
    } else {
      PushChar(a[i], fi, s, e, sc, out, word);
    }
  }
}

void WordPieceTokenizer::PushChar(uint32_t cp, uint8_t f, uint32_t s, uint32_t e, Scratch& sc, Encoding* out,
                                  int32_t* word) const {
  if (f & kFlagSpace) {
    EndWord(sc, out, word);
    return;
  }
  const bool punct = (f & kFlagPunct) != 0;
  if (punct) EndWord(sc, out, word);
  Append(cp, s, e, sc);
  if (punct) EndWord(sc, out, word);
}

// Keeps at most max_input_chars_per_word + 1 code points of a word: a longer
// word is one unk whatever it holds, so a 10 MB word costs no memory.
inline void WordPieceTokenizer::Append(uint32_t cp, uint32_t s, uint32_t e, Scratch& sc) const {
  if (sc.cps.size() <= static_cast<size_t>(opts_.max_input_chars_per_word)) {
    sc.cps.push_back(cp);
    sc.starts.push_back(s);
    sc.ends.push_back(e);
  }
  sc.wend = e;
}

void WordPieceTokenizer::EndWord(Scratch& sc, Encoding* out, int32_t* word) const {
  const size_t nc = sc.cps.size();
  if (nc == 0) return;
  const int32_t w = (*word)++;
  const uint32_t wstart = sc.starts[0], wend = sc.wend;
  if (nc > static_cast<size_t>(opts_.max_input_chars_per_word)) {
    out->push(unk_id_, wstart, wend, w);
  } else {
    // The word is at most max_input_chars_per_word + 1 code points, so its
    // UTF-8 fits in 4 bytes per code point; write it in place, no appends.
    if (sc.bytes.size() < nc * 4 + 1) {
      sc.bytes.resize(nc * 4 + 1);
      sc.char_at.resize(nc * 4 + 1);
    }
    unsigned char* bytes = reinterpret_cast<unsigned char*>(&sc.bytes[0]);
    uint32_t* char_at = sc.char_at.data();  // char index at each char-start byte (read only there)
    size_t nb = 0;
    for (size_t c = 0; c < nc; ++c) {
      const uint32_t cp = sc.cps[c];
      char_at[nb] = static_cast<uint32_t>(c);
      if (cp < 0x80) bytes[nb++] = static_cast<unsigned char>(cp);
      else nb += static_cast<size_t>(utf8_encode(cp, reinterpret_cast<char*>(bytes + nb)));
    }
    char_at[nb] = static_cast<uint32_t>(nc);
    const size_t mark = out->ids.size();
    size_t sb = 0;
    uint32_t start = 0;
    bool bad = false;
    while (sb < nb) {
      // The first byte comes from a direct table (root or prefix node), the rest from the hash.
      int32_t node = first_[start == 0 ? 0 : 1][bytes[sb]];
      size_t best = 0;
      int32_t best_id = -1;
      size_t p = sb;
      while (node >= 0) {
        const int32_t id = trie_.id(node);
        if (id >= 0) {
          best = p + 1;
          best_id = id;
        }
        if (++p >= nb) break;
        node = trie_.child(node, bytes[p]);
      }
      if (best_id < 0) {
        bad = true;
        break;
      }
      const uint32_t endc = char_at[best];
      out->push(best_id, sc.starts[start], sc.ends[endc - 1], w);
      start = endc;
      sb = best;
    }
    if (bad) {
      out->ids.resize(mark);
      out->offsets.resize(mark * 2);
      out->words.resize(mark);
      out->push(unk_id_, wstart, wend, w);
    }
  }
  sc.cps.clear();
  sc.starts.clear();
  sc.ends.clear();
}

Status WordPieceTokenizer::EncodeBatch(const std::vector<std::u16string>& texts, int threads,
                                       std::vector<Encoding>* out) const {
  out->resize(texts.size());
  size_t total = 0;
  for (const auto& s : texts) total += s.size();
  // A thread is worth it only for a few kB of text.
  const size_t by_size = std::max<size_t>(1, total / 4096);
  const int nt = static_cast<int>(
      std::max<size_t>(1, std::min<size_t>({static_cast<size_t>(std::max(threads, 1)), texts.size(), by_size})));
  std::atomic<size_t> next{0};
  std::atomic<bool> failed{false};
  // Small chunks from a shared counter balance uneven text lengths.
  const size_t chunk = std::min<size_t>(64, texts.size() / (static_cast<size_t>(nt) * 8) + 1);
  auto work = [&]() {
    for (;;) {
      const size_t b = next.fetch_add(chunk);
      if (b >= texts.size()) return;
      const size_t e = std::min(texts.size(), b + chunk);
      for (size_t i = b; i < e; ++i) {
        if (!Encode(texts[i].data(), texts[i].size(), &(*out)[i]).ok()) failed.store(true);
      }
    }
  };
  std::vector<std::thread> pool;
  for (int i = 1; i < nt; ++i) pool.emplace_back(work);
  work();
  for (auto& th : pool) th.join();
  if (failed.load())
    return Status::Error(StatusCode::kInvalidArgument,
                         "WordPiece error: Missing " + opts_.unk_token + " token from the vocabulary");
  return Status::Ok();
}

}  // namespace tokenizer
}  // namespace convbert
