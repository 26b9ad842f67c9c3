// util/scoped_id: a movable handle on a place an owner keeps for someone (a task group's member,
// a usage recorder's presence): destroying or resetting it gives the place back through
// Owner::release(id), exactly once. An empty one (default, or moved from) holds nothing.
#pragma once
#include <cstdint>
#include <utility>

namespace hc::util {

template <class Owner>
class scoped_id {
 public:
  scoped_id() = default;
  scoped_id(Owner* owner, std::uint64_t id) : owner_(owner), id_(id) {}
  scoped_id(scoped_id&& o) noexcept : owner_(std::exchange(o.owner_, nullptr)), id_(o.id_) {}
  scoped_id& operator=(scoped_id&& o) noexcept {
    if (this != &o) {
      reset();
      owner_ = std::exchange(o.owner_, nullptr);
      id_ = o.id_;
    }
    return *this;
  }
  ~scoped_id() { reset(); }

  void reset() {
    if (auto* owner = std::exchange(owner_, nullptr)) owner->release(id_);
  }

 private:
  Owner* owner_ = nullptr;
  std::uint64_t id_ = 0;
};

}  // namespace hc::util
