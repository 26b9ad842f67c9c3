// net/buffer_pool: data-path read buffers (limits::pump_buffer_bytes each) taken only while bytes
// flow and given back right after, so an idle tunnel holds none. A small per-thread free list
// avoids malloc on the hot path; thread-safe because each thread has its own list.
#pragma once
#include "net/limits.hpp"

#include <cstdint>
#include <memory>
#include <span>
#include <vector>

namespace hc::net {

class pooled_buffer {
 public:
  pooled_buffer();
  ~pooled_buffer();
  pooled_buffer(pooled_buffer&& o) noexcept : data_(o.data_) { o.data_ = nullptr; }
  pooled_buffer(const pooled_buffer&) = delete;
  pooled_buffer& operator=(const pooled_buffer&) = delete;
  pooled_buffer& operator=(pooled_buffer&&) = delete;

  std::span<std::uint8_t> span() { return {data_, limits::pump_buffer_bytes}; }
  std::uint8_t* data() { return data_; }
  static constexpr std::size_t size() { return limits::pump_buffer_bytes; }

 private:
  std::uint8_t* data_;
};

}  // namespace hc::net
