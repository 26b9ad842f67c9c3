// cluster/redis_reply: the one-line form of a reply (see redis_reply.hpp).
#include "cluster/redis_reply.hpp"

#include "proto/encoding.hpp"

namespace hc::cluster {

std::string redis_reply::to_string() const {
  switch (type) {
    case kind::nil:
      return "(nil)";
    case kind::integer:
      return "(integer) " + std::to_string(integer);
    case kind::string:
      return proto::quote_for_message(text);
    case kind::status:
      return text;
    case kind::error:
      return "(error) " + text;
    case kind::unanswered:
      return "(unanswered) " + text;
    case kind::array:
      break;
  }
  std::string line = "[";
  for (const auto& e : elements) line += (line.size() > 1 ? ", " : "") + e.to_string();
  return line + "]";
}

}  // namespace hc::cluster
