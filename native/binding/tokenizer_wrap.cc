// tokenizer_wrap.cc: Node-API glue for the native WordPiece tokenizer
// (native/src/tokenizer). Exposes `WordPieceCore`: encode(text) runs on the
// calling thread; encodeBatch(texts, threads) fans out over std::threads and
// encodeBatchAsync does the same inside an AsyncWorker, so the event loop stays
// free. Strings are read once as UTF-16 (napi_get_value_string_utf16); results
// come back as typed arrays. Errors a user can cause reject/throw ConvBertError.
#include <algorithm>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "../src/tokenizer/wordpiece.h"
#include "addon.h"
#include "args.h"

namespace convbert {
namespace {

using tokenizer::Encoding;
using tokenizer::WordPieceOptions;
using tokenizer::WordPieceTokenizer;

constexpr const char* kTokErr = "ERR_CONVBERT_TOKENIZER";
// Token ids are int32 (WordPieceTokenizer::Create refuses more tokens than that).
constexpr uint32_t kMaxTokens = 0x7fffffff;
// Vectors sized by a JS array's length start at most this big and grow with what is
// really read: a sparse array's length (up to 2^32 - 1) costs nothing until an entry is.
constexpr uint32_t kReserveCap = 1u << 16;

Napi::Error TokError(Napi::Env env, const std::string& msg) {
  Napi::Error e = Addon::Of(env)->MakeError(env, Status::Error(StatusCode::kInvalidArgument, msg));
  e.Set("code", Napi::String::New(env, kTokErr));
  return e;
}

// Reads a JS string as UTF-16 into *out (no re-encoding); false if not a string.
bool ReadUtf16(napi_env env, napi_value v, std::u16string* out) {
  size_t len = 0;
  if (napi_get_value_string_utf16(env, v, nullptr, 0, &len) != napi_ok) return false;
  out->resize(len + 1);
  size_t got = 0;
  if (napi_get_value_string_utf16(env, v, out->data(), len + 1, &got) != napi_ok) return false;
  out->resize(got);
  return true;
}

template <typename T, typename Arr>
Arr CopyOut(Napi::Env env, const T* data, size_t n) {
  Arr a = Arr::New(env, n);
  if (n) std::memcpy(a.Data(), data, n * sizeof(T));
  return a;
}

// {ids, offsets, words[, rowSplits]} from encodings laid end to end.
Napi::Object Pack(Napi::Env env, const std::vector<Encoding>& encs, bool with_splits) {
  size_t total = 0;
  for (const Encoding& e : encs) total += e.ids.size();
  Napi::Int32Array ids = Napi::Int32Array::New(env, total);
  Napi::Uint32Array offsets = Napi::Uint32Array::New(env, total * 2);
  Napi::Int32Array words = Napi::Int32Array::New(env, total);
  Napi::Uint32Array splits = Napi::Uint32Array::New(env, encs.size() + 1);
  size_t at = 0;
  splits[0] = 0;
  for (size_t i = 0; i < encs.size(); ++i) {
    const Encoding& e = encs[i];
    const size_t n = e.ids.size();
    if (n) {
      std::memcpy(ids.Data() + at, e.ids.data(), n * sizeof(int32_t));
      std::memcpy(offsets.Data() + at * 2, e.offsets.data(), n * 2 * sizeof(uint32_t));
      std::memcpy(words.Data() + at, e.words.data(), n * sizeof(int32_t));
    }
    at += n;
    splits[i + 1] = static_cast<uint32_t>(at);
  }
  Napi::Object o = Napi::Object::New(env);
  o.Set("ids", ids);
  o.Set("offsets", offsets);
  o.Set("words", words);
  if (with_splits) o.Set("rowSplits", splits);
  return o;
}

class BatchWorker : public Napi::AsyncWorker {
 public:
  BatchWorker(Napi::Env env, std::shared_ptr<const WordPieceTokenizer> tok, std::vector<std::u16string> texts,
              int threads)
      : Napi::AsyncWorker(env, "convbert.tokenizeBatch"),
        deferred_(Napi::Promise::Deferred::New(env)),
        tok_(std::move(tok)),
        texts_(std::move(texts)),
        threads_(threads) {}

  Napi::Promise Promise() const { return deferred_.Promise(); }

  void Execute() override {
    // No N-API calls here: this runs on a libuv worker thread.
    try {
      st_ = tok_->EncodeBatch(texts_, threads_, &out_);
    } catch (const std::bad_alloc&) {
      st_ = Status::Error(StatusCode::kOutOfMemory, "encodeBatchAsync: out of memory");
    }
    if (!st_.ok()) SetError(st_.message);
  }
  void OnOK() override { deferred_.Resolve(Pack(Env(), out_, true)); }
  void OnError(const Napi::Error&) override {
    Napi::Error err =
        st_.code == StatusCode::kOutOfMemory ? Addon::Of(Env())->MakeError(Env(), st_) : TokError(Env(), st_.message);
    deferred_.Reject(err.Value());
  }

 private:
  Napi::Promise::Deferred deferred_;
  std::shared_ptr<const WordPieceTokenizer> tok_;
  std::vector<std::u16string> texts_;
  int threads_;
  std::vector<Encoding> out_;
  Status st_;
};

class WordPieceCore : public Napi::ObjectWrap<WordPieceCore> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "WordPieceCore",
                       {
                           InstanceMethod("encode", &WordPieceCore::Guard<&WordPieceCore::Encode>),
                           InstanceMethod("encodeBatch", &WordPieceCore::Guard<&WordPieceCore::EncodeBatch>),
                           InstanceMethod("encodeBatchAsync", &WordPieceCore::Guard<&WordPieceCore::EncodeBatchAsync>),
                           InstanceAccessor("vocabSize", &WordPieceCore::VocabSize, nullptr),
                           InstanceAccessor("unkId", &WordPieceCore::UnkId, nullptr),
                       });
  }

  // new WordPieceCore(vocab: string[], options)
  explicit WordPieceCore(const Napi::CallbackInfo& info) : Napi::ObjectWrap<WordPieceCore>(info) {
    // node-addon-api turns only Napi::Error into a JS exception; anything else thrown
    // out of a constructor would terminate the process.
    try {
      Construct(info);
    } catch (const std::bad_alloc&) {
      Napi::Env env = info.Env();
      Addon::Of(env)
          ->MakeError(env,
                      Status::Error(StatusCode::kOutOfMemory, "WordPieceCore: out of memory reading the vocabulary"))
          .ThrowAsJavaScriptException();
    }
  }

 private:
  void Construct(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (info.Length() < 1 || !info[0].IsArray()) {
      TokError(env, "vocab: expected an array of strings").ThrowAsJavaScriptException();
      return;
    }
    Napi::Array va = info[0].As<Napi::Array>();
    const uint32_t nv = va.Length();
    if (nv > kMaxTokens) {
      TokError(env, "vocab: expected at most " + std::to_string(kMaxTokens) + " tokens (int32 ids), got " +
                        std::to_string(nv))
          .ThrowAsJavaScriptException();
      return;
    }
    std::vector<std::string> vocab;
    vocab.reserve(std::min(nv, kReserveCap));
    for (uint32_t i = 0; i < nv; ++i) {
      Napi::Value v = va.Get(i);
      if (!v.IsString()) {
        TokError(env, "vocab: entry " + std::to_string(i) + " is not a string").ThrowAsJavaScriptException();
        return;
      }
      vocab.push_back(v.As<Napi::String>().Utf8Value());
    }
    WordPieceOptions opts;
    std::vector<std::u16string> added;
    std::vector<int32_t> added_ids;
    if (info.Length() >= 2 && info[1].IsObject()) {
      Napi::Object o = info[1].As<Napi::Object>();
      auto flag = [&](const char* name, bool* dst) {
        Napi::Value v = o.Get(name);
        if (v.IsBoolean()) *dst = v.As<Napi::Boolean>().Value();
      };
      flag("cleanText", &opts.clean_text);
      flag("handleChineseChars", &opts.handle_chinese_chars);
      flag("stripAccents", &opts.strip_accents);
      flag("lowercase", &opts.lowercase);
      Napi::Value v = o.Get("unkToken");
      if (v.IsString()) opts.unk_token = v.As<Napi::String>().Utf8Value();
      v = o.Get("continuingSubwordPrefix");
      if (v.IsString()) opts.continuing_subword_prefix = v.As<Napi::String>().Utf8Value();
      v = o.Get("maxInputCharsPerWord");
      if (!v.IsUndefined())
        opts.max_input_chars_per_word = static_cast<int>(args::Int(v, "maxInputCharsPerWord", 0, 1000000000));
      Napi::Value at = o.Get("addedTokens");
      Napi::Value ai = o.Get("addedIds");
      if (at.IsArray() && ai.IsArray()) {
        Napi::Array ta = at.As<Napi::Array>(), ia = ai.As<Napi::Array>();
        if (ta.Length() != ia.Length()) {
          TokError(env, "addedIds: expected one id per added token (" + std::to_string(ta.Length()) + "), got " +
                            std::to_string(ia.Length()))
              .ThrowAsJavaScriptException();
          return;
        }
        for (uint32_t i = 0; i < ta.Length(); ++i) {
          Napi::Value tv = ta.Get(i), iv = ia.Get(i);
          std::u16string s;
          if (!tv.IsString() || !ReadUtf16(env, tv, &s)) {
            TokError(env, "addedTokens[" + std::to_string(i) + "]: expected a string").ThrowAsJavaScriptException();
            return;
          }
          // Int32Value() would wrap 1e10 to some other id and NaN to 0: take only exact int32 ids.
          const double d = iv.IsNumber() ? iv.As<Napi::Number>().DoubleValue() : -1;
          if (!(d >= 0 && d <= static_cast<double>(kMaxTokens) && d == static_cast<double>(static_cast<int64_t>(d)))) {
            TokError(env, "addedIds[" + std::to_string(i) + "]: expected an integer id in [0, 2^31)")
                .ThrowAsJavaScriptException();
            return;
          }
          added.push_back(std::move(s));
          added_ids.push_back(static_cast<int32_t>(d));
        }
      }
    }
    Status st = WordPieceTokenizer::Create(vocab, added, added_ids, opts, &tok_);
    if (!st.ok()) TokError(env, st.message).ThrowAsJavaScriptException();
  }

  // A method whose allocations (texts, results) may fail: out of memory becomes a JS
  // error instead of an exception node-addon-api does not catch (which terminates).
  template <Napi::Value (WordPieceCore::*M)(const Napi::CallbackInfo&)>
  Napi::Value Guard(const Napi::CallbackInfo& info) {
    try {
      return (this->*M)(info);
    } catch (const std::bad_alloc&) {
      Napi::Env env = info.Env();
      Addon::Of(env)
          ->MakeError(env, Status::Error(StatusCode::kOutOfMemory, "WordPieceCore: out of memory"))
          .ThrowAsJavaScriptException();
      return env.Undefined();
    }
  }

  bool Ready(Napi::Env env) {
    if (tok_) return true;
    TokError(env, "WordPieceCore: not initialised").ThrowAsJavaScriptException();
    return false;
  }

  // encode(text: string) -> {ids: Int32Array, offsets: Uint32Array, words: Int32Array}
  Napi::Value Encode(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!Ready(env)) return env.Undefined();
    thread_local std::u16string text;
    if (info.Length() < 1 || !info[0].IsString() || !ReadUtf16(env, info[0], &text)) {
      TokError(env, "text: expected a string").ThrowAsJavaScriptException();
      return env.Undefined();
    }
    thread_local std::vector<Encoding> one(1);
    Status st = tok_->Encode(text.data(), text.size(), &one[0]);
    if (text.capacity() > (1u << 20)) std::u16string().swap(text);  // do not pin a huge buffer
    if (!st.ok()) {
      TokError(env, st.message).ThrowAsJavaScriptException();
      return env.Undefined();
    }
    Napi::Object o = Pack(env, one, false);
    if (one[0].ids.capacity() > (1u << 20)) one[0] = Encoding();  // do not pin a huge result either
    return o;
  }

  bool ReadTexts(const Napi::CallbackInfo& info, std::vector<std::u16string>* texts, int* threads) {
    Napi::Env env = info.Env();
    if (info.Length() < 1 || !info[0].IsArray()) {
      TokError(env, "texts: expected an array of strings").ThrowAsJavaScriptException();
      return false;
    }
    Napi::Array a = info[0].As<Napi::Array>();
    const uint32_t n = a.Length();
    texts->clear();
    texts->reserve(std::min(n, kReserveCap));
    for (uint32_t i = 0; i < n; ++i) {
      Napi::Value v = a.Get(i);
      texts->emplace_back();
      if (!v.IsString() || !ReadUtf16(env, v, &texts->back())) {
        TokError(env, "texts[" + std::to_string(i) + "]: expected a string").ThrowAsJavaScriptException();
        return false;
      }
    }
    // More threads than 256 (a machine's default parallelism may be larger) run as 256; a value
    // that is no thread count is refused (it used to run as 1 thread, silently).
    *threads = static_cast<int>(
        std::min<int64_t>(256, args::IntOr(args::At(info, 1), "encodeBatch: threads", 1, args::kMaxSafe, 1)));
    return true;
  }

  // encodeBatch(texts: string[], threads) -> {ids, offsets, words, rowSplits}
  Napi::Value EncodeBatch(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!Ready(env)) return env.Undefined();
    std::vector<std::u16string> texts;
    int threads = 1;
    if (!ReadTexts(info, &texts, &threads)) return env.Undefined();
    std::vector<Encoding> out;
    Status st = tok_->EncodeBatch(texts, threads, &out);
    if (!st.ok()) {
      TokError(env, st.message).ThrowAsJavaScriptException();
      return env.Undefined();
    }
    return Pack(env, out, true);
  }

  // encodeBatchAsync(texts: string[], threads) -> Promise<{ids, offsets, words, rowSplits}>
  Napi::Value EncodeBatchAsync(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!Ready(env)) return env.Undefined();
    std::vector<std::u16string> texts;
    int threads = 1;
    if (!ReadTexts(info, &texts, &threads)) return env.Undefined();
    auto* w = new BatchWorker(env, tok_, std::move(texts), threads);
    Napi::Promise p = w->Promise();
    w->Queue();
    return p;
  }

  Napi::Value VocabSize(const Napi::CallbackInfo& info) {
    return Napi::Number::New(info.Env(), tok_ ? static_cast<double>(tok_->vocab_size()) : 0);
  }
  Napi::Value UnkId(const Napi::CallbackInfo& info) {
    return Napi::Number::New(info.Env(), tok_ ? tok_->unk_id() : -1);
  }

  std::shared_ptr<const WordPieceTokenizer> tok_;
};

void InitTokenizer(Napi::Env env, Napi::Object exports) { exports.Set("WordPieceCore", WordPieceCore::Define(env)); }

static BindingRegistrar reg("Tokenizer", &InitTokenizer);

}  // namespace
}  // namespace convbert
