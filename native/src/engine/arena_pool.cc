// arena_pool.cc: the Model's pool of forward arenas. A CPU forward takes one,
// grows it to the request's plan and gives it back, so a steady stream of
// requests stops allocating; a few are kept for concurrent forwards.
#include <memory>
#include <mutex>

#include "convbert/engine.h"

namespace convbert {

int64_t Model::arena_bytes() const {
  std::lock_guard<std::mutex> lk(arena_mu_);
  int64_t n = 0;
  for (const auto& a : free_arenas_) n += static_cast<int64_t>(a->f.capacity() * 4 + a->i.capacity() * 4);
  return n;
}

std::unique_ptr<Arena> Model::take_arena() const {
  std::lock_guard<std::mutex> lk(arena_mu_);
  if (free_arenas_.empty()) return std::make_unique<Arena>();
  std::unique_ptr<Arena> a = std::move(free_arenas_.back());
  free_arenas_.pop_back();
  return a;
}

void Model::give_arena(std::unique_ptr<Arena> a) const {
  std::lock_guard<std::mutex> lk(arena_mu_);
  // Keep a few for concurrent forwards; more would only hold memory.
  if (free_arenas_.size() < 4) free_arenas_.push_back(std::move(a));
}

}  // namespace convbert
