// Snapshot / SnapshotRef (core/snapshot.hpp): a reader keeps the value it loaded; slices follow
// the whole.
#include <gtest/gtest.h>

#include <string>
#include <thread>
#include <vector>

#include "core/snapshot.hpp"

namespace nbhub {
namespace {

struct Whole {
  int a = 0;
  std::string b;
};

TEST(Snapshot, ReaderKeepsTheValueItLoaded) {
  Snapshot<Whole> s(Whole{1, "one"});
  auto held = s.load();
  s.store(Whole{2, "two"});
  EXPECT_EQ(held->b, "one");
  EXPECT_EQ(s.load()->b, "two");
}

TEST(SnapshotRef, SliceFollowsTheWholeAndKeepsItAlive) {
  Snapshot<Whole> s(Whole{1, "one"});
  SnapshotRef<std::string> b(s, &Whole::b);
  auto held = b.load();
  s.store(Whole{2, "two"});
  EXPECT_EQ(*held, "one");  // still valid: the aliasing pointer owns the old Whole
  EXPECT_EQ(*b.load(), "two");
}

TEST(SnapshotRef, SliceOfASlice) {
  struct Outer { Whole inner; };
  Snapshot<Outer> s(Outer{Whole{1, "x"}});
  SnapshotRef<Whole> inner(s, &Outer::inner);
  SnapshotRef<int> a(inner, &Whole::a);
  s.store(Outer{Whole{7, "y"}});
  EXPECT_EQ(*a.load(), 7);
}

TEST(SnapshotRef, FixedValue) {
  Whole w{3, "fixed"};
  SnapshotRef<Whole> r(w);
  EXPECT_EQ(r.load().get(), &w);
}

TEST(Snapshot, ConcurrentReadersAndWriter) {
  Snapshot<std::vector<int>> s(std::vector<int>(100, 0));
  std::atomic<bool> stop{false};
  std::thread reader([&] {
    while (!stop) {
      auto v = s.load();
      // Every snapshot is internally consistent: all elements equal.
      for (int x : *v) ASSERT_EQ(x, (*v)[0]);
    }
  });
  for (int i = 1; i < 2000; ++i) s.store(std::vector<int>(100, i));
  stop = true;
  reader.join();
  EXPECT_EQ((*s.load())[0], 1999);
}

}  // namespace
}  // namespace nbhub
