// connector/hosts_file: the marked block in a hosts file (see hosts_file.hpp).
#include "connector/hosts_file.hpp"

#include "util/locked_edit.hpp"

#include <functional>
#include <optional>
#include <set>
#include <stdexcept>

namespace hc::connector {

namespace {

struct block_span {
  std::size_t begin = 0;  // first byte of the BEGIN line
  std::size_t end = 0;    // one past the END line's '\n' (or the text's end)
};

std::string marker_error(std::size_t line, const std::string& problem) {
  return "line " + std::to_string(line) + " " + problem;
}

// The block, nullopt when there is none. Markers must be whole lines forming exactly one
// BEGIN..END pair: anything else is refused, because guessing where a block ends would delete
// lines someone else wrote.
proto::result<std::optional<block_span>> find_block(std::string_view text) {
  std::optional<block_span> found;
  std::size_t begin_line = 0;  // of an open BEGIN; 0: none open
  std::size_t open_at = 0, at = 0, line_no = 0;
  while (at < text.size()) {
    ++line_no;
    auto nl = text.find('\n', at);
    auto line_end = nl == std::string_view::npos ? text.size() : nl;
    auto line = text.substr(at, line_end - at);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    auto next = nl == std::string_view::npos ? text.size() : nl + 1;
    bool is_begin = line == hosts_begin_marker, is_end = line == hosts_end_marker;
    if ((is_begin || is_end) && found)
      return proto::error::bad_request(
          marker_error(line_no, "has '" + std::string(line) +
                                    "' after the hcconnect block already ended: keep one block " +
                                    "(delete the extra marker lines), then run the command again"));
    if (is_begin && begin_line != 0)
      return proto::error::bad_request(marker_error(
          line_no, "has a second '" + std::string(hosts_begin_marker) + "' while the one on line " +
                       std::to_string(begin_line) + " has no '" + std::string(hosts_end_marker) +
                       "' yet: delete one of them, then run the command again"));
    if (is_end && begin_line == 0)
      return proto::error::bad_request(marker_error(
          line_no, "has '" + std::string(hosts_end_marker) + "' with no '" + std::string(hosts_begin_marker) +
                       "' before it: delete that line (or add the BEGIN line above hcconnect's lines), then "
                       "run the command again"));
    if (is_begin) {
      begin_line = line_no;
      open_at = at;
    } else if (is_end) {
      found = block_span{open_at, next};
      begin_line = 0;
    }
    at = next;
  }
  if (begin_line != 0)
    return proto::error::bad_request(marker_error(
        begin_line, "has '" + std::string(hosts_begin_marker) + "' but no '" + std::string(hosts_end_marker) +
                        "' follows it: add the END line after hcconnect's lines (or delete the BEGIN line), "
                        "then run the command again; nothing was changed"));
  return found;
}

// Applies `change` to the file under util::edit_file_locked; broken markers name the file.
void edit_hosts(const std::string& path,
                const std::function<proto::result<std::string>(std::string_view)>& change) {
  util::edit_file_locked(path, [&](std::string_view current) -> std::optional<std::string> {
    auto updated = change(current);
    if (!updated) throw std::runtime_error(path + ": " + updated.error().message);
    if (*updated == current) return std::nullopt;
    return std::move(*updated);
  });
}

}  // namespace

std::string hosts_block(const endpoint_config& config) {
  std::string out = std::string(hosts_begin_marker) + "\n";
  std::set<std::string> seen;
  for (const auto& e : config.entries) {
    if (!seen.insert(e.endpoint_host).second) continue;
    out += e.loopback_address + " " + e.endpoint_host + "\n";
  }
  out += std::string(hosts_end_marker) + "\n";
  return out;
}

proto::result<std::string> with_hosts_block(std::string_view original, std::string_view block) {
  auto span = find_block(original);
  if (!span) return span.error();
  if (*span) {
    std::string out(original.substr(0, (*span)->begin));
    out += block;
    out += original.substr((*span)->end);
    return out;
  }
  std::string out(original);
  if (!out.empty() && out.back() != '\n') out += '\n';
  out += block;
  return out;
}

proto::result<std::string> without_hosts_block(std::string_view original) {
  auto span = find_block(original);
  if (!span) return span.error();
  if (!*span) return std::string(original);
  return std::string(original.substr(0, (*span)->begin)) + std::string(original.substr((*span)->end));
}

void apply_hosts_file(const std::string& path, const endpoint_config& config) {
  auto block = hosts_block(config);
  edit_hosts(path, [&](std::string_view current) { return with_hosts_block(current, block); });
}

void remove_hosts_block(const std::string& path) {
  edit_hosts(path, [](std::string_view current) { return without_hosts_block(current); });
}

}  // namespace hc::connector
