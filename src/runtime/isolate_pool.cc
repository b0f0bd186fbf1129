#include "runtime/isolate_pool.h"

#include <pthread.h>

#include <algorithm>

#include "runtime/base_context.h"
#include "runtime/capped_allocator.h"
#include "runtime/v8_engine.h"
#include "runtime/v8_strings.h"

namespace patchbay {

FreshIsolate makeIsolate(size_t heapBytes) {
  ensureV8();
  FreshIsolate made;
  made.allocator = newCappedAllocator(heapBytes);
  v8::Isolate::CreateParams params;
  params.array_buffer_allocator = made.allocator.get();
  params.constraints.ConfigureDefaultsFromHeapSize(0, heapBytes);
  // V8 checks its heap limit when it collects garbage, not at each
  // allocation: one large object (a 40 MB string parsed near a 64 MB limit)
  // that does not fit is a fatal out-of-memory for the whole process. So
  // V8's own limit sits a headroom above the plugin's, room for the largest
  // single object V8 makes (strings up to 1 GiB), and the plugin's limit is
  // enforced after each collection (plugin_instance.cc, watchHeap), which
  // ends that plugin's isolate only.
  params.constraints.set_max_old_generation_size_in_bytes(heapBytes + kHeapHeadroom);
  params.constraints.set_initial_old_generation_size_in_bytes(heapBytes);  // the first full collection no later than at the plugin's limit
  v8::StartupData* snapshot = runtimeSnapshot();
  params.snapshot_blob = snapshot;
  made.isolate = v8::Isolate::New(params);
  v8::Locker locker(made.isolate);
  v8::Isolate::Scope isolateScope(made.isolate);
  v8::HandleScope handles(made.isolate);
  v8::TryCatch tryCatch(made.isolate);
  BaseContext base;
  if (newBaseContext(made.isolate, snapshot != nullptr, base)) {
    made.context.Reset(made.isolate, base.context);
    made.preludeFactory.Reset(made.isolate, base.preludeFactory);
  } else {
    made.failure = toUtf8(made.isolate, tryCatch.Exception());
    if (made.failure.empty()) made.failure = "a runtime script failed";
  }
  return made;
}

void FreshIsolate::dispose() {
  if (!isolate) return;
  {
    v8::Locker locker(isolate);
    v8::Isolate::Scope isolateScope(isolate);
    context.Reset();
    preludeFactory.Reset();
  }
  isolate->Dispose();
  isolate = nullptr;
}

std::shared_ptr<IsolatePool> IsolatePool::shared() {
  static std::mutex mu;
  static std::weak_ptr<IsolatePool> current;
  std::lock_guard lock(mu);
  auto pool = current.lock();
  if (!pool) {
    // Two spares, made by up to two threads: activations one after another
    // (a host starting its plugins) find one ready while the next are made.
    const size_t cores = std::max(1u, std::thread::hardware_concurrency());
    pool = std::make_shared<IsolatePool>(2, std::min<size_t>(2, cores));
    current = pool;
  }
  return pool;
}

IsolatePool::IsolatePool(size_t spares, size_t makers) : spares_(spares), makers_(makers) {}

IsolatePool::~IsolatePool() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  wake_.notify_all();
  for (auto& t : threads_) t.join();
  for (auto& [size, isolates] : ready_) {
    for (auto& fresh : isolates) fresh.dispose();
  }
}

FreshIsolate IsolatePool::take(size_t heapBytes) {
  {
    std::lock_guard lock(mu_);
    auto& isolates = ready_[heapBytes];  // from now on, spares of this size are kept
    while (threads_.size() < makers_ && spares_ > 0) threads_.emplace_back([this] { refill(); });
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
        if (isolates.size() + making_[size] < spares_) {
          wanted = size;
          return true;
        }
      }
      return false;
    });
    if (stopping_) return;
    ++making_[wanted];
    lock.unlock();
    FreshIsolate fresh = makeIsolate(wanted);
    fresh.madeAhead = true;
    lock.lock();
    --making_[wanted];
    ready_[wanted].push_back(std::move(fresh));
  }
}

}  // namespace patchbay
