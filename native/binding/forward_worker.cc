// forward_worker.cc: one Napi::AsyncWorker per forward (better-sqlite3 /
// sharp style), owning copies of the request's inputs. Execute runs the validated
// job on its ForwardTarget (the CPU op table or a CUDA engine) on a libuv thread
// with no N-API calls; the model and target are held by
// shared_ptr, so dispose() during a forward frees them only when the forward ends.
// OnError builds a ConvBertError.
#include "forward_worker.h"

#include <exception>
#include <utility>

#include "addon.h"

namespace convbert {
namespace {

class ForwardWorker : public Napi::AsyncWorker {
 public:
  ForwardWorker(Napi::Env env, std::shared_ptr<const Model> model, std::shared_ptr<ForwardTarget> target,
                ForwardJob job, ForwardInputs inputs, std::vector<Napi::Reference<Napi::Value>> keep)
      : Napi::AsyncWorker(env, "convbert.forward"),
        deferred_(Napi::Promise::Deferred::New(env)),
        model_(std::move(model)),
        target_(std::move(target)),
        job_(std::move(job)),
        inputs_(std::move(inputs)),
        keep_(std::move(keep)) {}

  Napi::Promise Promise() const { return deferred_.Promise(); }

 protected:
  void Execute() override {
    try {
      status_ = target_->run(*model_, job_);  // the binding validated job_ (validate_forward) when it read it
    } catch (const std::bad_alloc&) {
      status_ = Status::Error(StatusCode::kOutOfMemory, "forward: out of memory");
    } catch (const std::exception& e) {
      status_ = Status::Error(StatusCode::kInternal, std::string("forward: ") + e.what());
    }
    if (!status_.ok()) SetError(status_.message);
  }
  // Both completions may run while a worker_thread's environment is being torn
  // down (Worker.terminate() during a forward): N-API calls then fail, and with
  // C++ exceptions on they throw. Nobody can observe the promise any more, so
  // the failure is dropped instead of escaping into libuv (std::terminate).
  void OnOK() override {
    Napi::Env env = Env();
    Release();
    try {
      deferred_.Resolve(env.Undefined());
    } catch (const Napi::Error&) {
    }
  }
  void OnError(const Napi::Error& e) override {
    Napi::Env env = Env();
    Release();
    try {
      // status_ is OK when the work was cancelled before Execute ran (environment teardown).
      if (status_.ok()) deferred_.Reject(e.Value());
      else deferred_.Reject(Addon::Of(env)->MakeError(env, status_).Value());
    } catch (const Napi::Error&) {
    }
  }

 private:
  void Release() {
    target_.reset();
    model_.reset();
    for (auto& r : keep_) {
      try {
        r.Reset();
      } catch (const Napi::Error&) {
      }
    }
    keep_.clear();
  }

  Napi::Promise::Deferred deferred_;
  std::shared_ptr<const Model> model_;
  std::shared_ptr<ForwardTarget> target_;
  ForwardJob job_;
  ForwardInputs inputs_;  // what job_'s input pointers point into
  std::vector<Napi::Reference<Napi::Value>> keep_;
  Status status_;
};

}  // namespace

Napi::Promise QueueForward(Napi::Env env, std::shared_ptr<const Model> model, std::shared_ptr<ForwardTarget> target,
                           ForwardJob job, ForwardInputs inputs, std::vector<Napi::Reference<Napi::Value>> keep) {
  auto* w =
      new ForwardWorker(env, std::move(model), std::move(target), std::move(job), std::move(inputs), std::move(keep));
  Napi::Promise p = w->Promise();
  w->Queue();
  return p;
}

}  // namespace convbert
