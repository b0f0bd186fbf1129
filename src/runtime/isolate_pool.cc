#include "runtime/isolate_pool.h"

#include <pthread.h>

#include "runtime/capped_allocator.h"
#include "runtime/v8_engine.h"

namespace patchbay {

FreshIsolate makeIsolate(size_t heapBytes) {
  ensureV8();
  FreshIsolate made;
  made.allocator = newCappedAllocator(heapBytes);
  v8::Isolate::CreateParams params;
  params.array_buffer_allocator = made.allocator.get();
  params.constraints.ConfigureDefaultsFromHeapSize(0, heapBytes);
  made.isolate = v8::Isolate::New(params);
  return made;
}

std::shared_ptr<IsolatePool> IsolatePool::shared() {
  static std::mutex mu;
  static std::weak_ptr<IsolatePool> current;
  std::lock_guard lock(mu);
  auto pool = current.lock();
  if (!pool) {
    // Two spares: one activation after another (a host starting its
    // plugins) finds one ready while the next is being made.
    pool = std::make_shared<IsolatePool>(2);
    current = pool;
  }
  return pool;
}

IsolatePool::IsolatePool(size_t spares) : spares_(spares) {}

IsolatePool::~IsolatePool() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
  for (auto& [size, isolates] : ready_) {
    for (auto& fresh : isolates) fresh.isolate->Dispose();
  }
}

FreshIsolate IsolatePool::take(size_t heapBytes) {
  {
    std::lock_guard lock(mu_);
    auto& isolates = ready_[heapBytes];  // from now on, spares of this size are kept
    if (!thread_.joinable() && spares_ > 0) thread_ = std::thread([this] { refill(); });
    if (!isolates.empty()) {
      FreshIsolate fresh = std::move(isolates.front());
      isolates.pop_front();
      wake_.notify_all();
      return fresh;
    }
  }
  wake_.notify_all();
  return makeIsolate(heapBytes);
}

size_t IsolatePool::ready(size_t heapBytes) {
  std::lock_guard lock(mu_);
  auto it = ready_.find(heapBytes);
  return it == ready_.end() ? 0 : it->second.size();
}

void IsolatePool::refill() {
  pthread_setname_np(pthread_self(), "pb-isolate-pool");  // as top -H and perf show it
  std::unique_lock lock(mu_);
  for (;;) {
    size_t wanted = 0;
    wake_.wait(lock, [&] {
      if (stopping_) return true;
      for (const auto& [size, isolates] : ready_) {
        if (isolates.size() < spares_) {
          wanted = size;
          return true;
        }
      }
      return false;
    });
    if (stopping_) return;
    lock.unlock();
    FreshIsolate fresh = makeIsolate(wanted);
    lock.lock();
    ready_[wanted].push_back(std::move(fresh));
  }
}

}  // namespace patchbay
