// cluster/redis_reply: a Redis reply as a plain value (RESP2: nil, integer, bulk string, status,
// error, array), plus `unanswered`: the client's own answer when the server's never came (the link
// is down, the reply timed out, the client closed) or the command was never sent; its text says
// which, and a command that was sent may or may not have run. Converting hiredis's replies lives
// in redis_connection.cpp: this header has no hiredis in it. Plain values; thread-compatible.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace hc::cluster {

struct redis_reply {
  enum class kind { nil, integer, string, status, error, array, unanswered };

  kind type = kind::nil;
  std::int64_t integer = 0;           // kind::integer
  std::string text;                   // string, status, error (the server's words), unanswered (ours)
  std::vector<redis_reply> elements;  // kind::array

  static redis_reply unanswered(std::string why) { return {kind::unanswered, 0, std::move(why), {}}; }
  // The server's error or no answer at all.
  bool failed() const { return type == kind::error || type == kind::unanswered; }
  // One line for logs and test messages: "text", (integer) 3, (nil), (error) ..., [a, b].
  std::string to_string() const;
};

}  // namespace hc::cluster
