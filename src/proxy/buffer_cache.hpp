#pragma once
// Recycles the proxy's fixed-size body buffers. A fresh 64 KiB allocation per request showed in
// profiles (glibc consolidating its heap on every large free); a short free list removes it.
// Thread-safe: any connection strand may take and return buffers. A buffer may be returned
// after the cache is gone (a coroutine frame destroyed with its io_context): the free list is
// shared with the buffers.
#include <cstddef>
#include <memory>
#include <mutex>
#include <vector>

namespace nbhub::proxy {

class BufferCache {
  struct FreeList {
    FreeList(std::size_t b, std::size_t k) : bytes(b), keep(k) {}
    std::size_t const bytes, keep;
    std::mutex mu;
    std::vector<std::unique_ptr<char[]>> free;  // GUARDED_BY(mu)
  };

 public:
  // Buffers of `bytes`; at most `keep` are held while unused.
  BufferCache(std::size_t bytes, std::size_t keep) : list_(std::make_shared<FreeList>(bytes, keep)) {}

  struct Return {
    std::shared_ptr<FreeList> list;
    void operator()(char* p) const noexcept {
      std::unique_ptr<char[]> owned(p);
      std::lock_guard lock(list->mu);
      if (list->free.size() < list->keep) list->free.push_back(std::move(owned));  // else freed
    }
  };
  using Ptr = std::unique_ptr<char[], Return>;

  Ptr get() {
    {
      std::lock_guard lock(list_->mu);
      if (!list_->free.empty()) {
        auto p = list_->free.back().release();
        list_->free.pop_back();
        return Ptr(p, Return{list_});
      }
    }
    return Ptr(std::make_unique_for_overwrite<char[]>(list_->bytes).release(), Return{list_});
  }

 private:
  std::shared_ptr<FreeList> list_;
};

}  // namespace nbhub::proxy
