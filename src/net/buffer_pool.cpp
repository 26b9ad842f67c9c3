// net/buffer_pool: the per-thread free list behind pooled_buffer (see buffer_pool.hpp).
#include "net/buffer_pool.hpp"

namespace hc::net {
namespace {

// Enough spare buffers per thread for a burst of active tunnels; beyond it memory goes back.
constexpr std::size_t max_free_per_thread = 64;

struct free_list {
  std::vector<std::uint8_t*> buffers;
  ~free_list() {
    for (auto* b : buffers) delete[] b;
  }
};
thread_local free_list spare;

}  // namespace

pooled_buffer::pooled_buffer() {
  if (!spare.buffers.empty()) {
    data_ = spare.buffers.back();
    spare.buffers.pop_back();
  } else {
    data_ = new std::uint8_t[limits::pump_buffer_bytes];
  }
}

pooled_buffer::~pooled_buffer() {
  if (!data_) return;
  if (spare.buffers.size() < max_free_per_thread)
    spare.buffers.push_back(data_);
  else
    delete[] data_;
}

}  // namespace hc::net
