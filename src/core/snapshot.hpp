#pragma once
// Immutable values that a reload replaces as a whole (STYLE.md §5 and §6.10: "Config is frozen
// as shared_ptr<const HubConfig> and handed out in slices; a reload swaps the pointer").
//
//   Snapshot<T>     owns the current value; store() swaps it atomically. A reader's load()
//                   keeps the value it got alive for as long as it holds the pointer, so a
//                   request in flight finishes with the configuration it started with.
//   SnapshotRef<T>  what a component holds: a Snapshot<T>, a slice of a bigger Snapshot (one
//                   member of it, via shared_ptr's aliasing constructor), or a plain value
//                   that outlives it (tests, and parts built once).
//
// load() is std::atomic<std::shared_ptr>::load: no mutex, one reference count increment.
// Nothing on the proxy's hot path loads a snapshot; hub request handlers load one per request.
#include <atomic>
#include <functional>
#include <memory>
#include <utility>

namespace nbhub {

template <class T>
class Snapshot {
 public:
  explicit Snapshot(std::shared_ptr<const T> initial) : ptr_(std::move(initial)) {}
  explicit Snapshot(T initial) : ptr_(std::make_shared<const T>(std::move(initial))) {}
  Snapshot(Snapshot const&) = delete;
  Snapshot& operator=(Snapshot const&) = delete;

  std::shared_ptr<const T> load() const { return ptr_.load(std::memory_order_acquire); }
  void store(std::shared_ptr<const T> next) { ptr_.store(std::move(next), std::memory_order_release); }
  void store(T next) { store(std::make_shared<const T>(std::move(next))); }

 private:
  std::atomic<std::shared_ptr<const T>> ptr_;
};

template <class T>
class SnapshotRef {
 public:
  // The current value of `s` at every load(); `s` must outlive this reference.
  SnapshotRef(Snapshot<T> const& s)  // NOLINT(google-explicit-constructor): a ref is a view
      : load_([&s] { return s.load(); }) {}
  // Member `m` of the current value of `whole` (its `auth` slice, say).
  template <class Whole>
  SnapshotRef(Snapshot<Whole> const& whole, T const Whole::*m)
      : load_([&whole, m] {
          auto w = whole.load();
          return std::shared_ptr<const T>(w, &((*w).*m));
        }) {}
  // Member `m` of what `whole` shows now (a slice of a slice).
  template <class Whole>
  SnapshotRef(SnapshotRef<Whole> whole, T const Whole::*m)
      : load_([whole = std::move(whole), m] {
          auto w = whole.load();
          return std::shared_ptr<const T>(w, &((*w).*m));
        }) {}
  // A value that never changes and outlives this reference (not owned).
  SnapshotRef(T const& fixed)  // NOLINT(google-explicit-constructor)
      : load_([&fixed] { return std::shared_ptr<const T>(std::shared_ptr<const T>{}, &fixed); }) {}

  std::shared_ptr<const T> load() const { return load_(); }

 private:
  std::function<std::shared_ptr<const T>()> load_;
};

}  // namespace nbhub
