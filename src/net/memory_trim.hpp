// net/memory_trim: hands free heap memory back to the system now and then (malloc_trim). glibc
// keeps what a burst of connections or tunnels freed in its heaps, so a long-running process's
// RSS would stay at its peak; the relay and both agents run this for their whole life.
#pragma once
#include "net/types.hpp"

namespace hc::net {

// Every limits::memory_trim_interval until `ex`'s io_context stops.
void keep_returning_free_memory(asio::any_io_executor ex);

}  // namespace hc::net
