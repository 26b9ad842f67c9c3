// ctl/table: table and detail printing for hcctl (see table.hpp).
#include "ctl/table.hpp"

#include "proto/utf8.hpp"
#include "util/table.hpp"

#include <boost/json.hpp>
#include <iostream>

namespace hc::ctl {
namespace json = boost::json;

namespace {

// The field as it arrived, before field() makes it printable.
std::string raw_field(const json::value& v, std::string_view key) {
  if (!v.is_object()) return "-";
  const auto* f = v.as_object().if_contains(key);
  if (!f || f->is_null()) return "-";
  if (f->is_string()) return std::string(f->as_string());
  if (f->is_array()) {
    std::string out;
    for (const auto& item : f->as_array())
      out += (out.empty() ? "" : ", ") +
             (item.is_string() ? std::string(item.as_string()) : json::serialize(item));
    return out.empty() ? "-" : out;
  }
  return json::serialize(*f);
}

// A CSV field: quoted, its quotes doubled, when it holds a comma, a quote or a line break. A
// text a spreadsheet would run as a formula (=, +, -, @, tab or CR first: a listener's agent
// string, a hybrid connection named "-...") gets a leading ' (OWASP's CSV injection advice);
// numbers, which are never negative here, stay numbers.
std::string csv_field(std::string text) {
  if (!text.empty() && std::string_view("=+-@\t\r").find(text.front()) != std::string_view::npos)
    text.insert(0, "'");
  if (text.find_first_of(",\"\r\n") == std::string::npos) return text;
  std::string out = "\"";
  for (char c : text) out += c == '"' ? std::string("\"\"") : std::string(1, c);
  return out + "\"";
}

void print_csv_line(const std::vector<std::string>& fields) {
  std::string line;
  for (const auto& f : fields) line += (line.empty() ? "" : ",") + csv_field(f);
  std::cout << line << "\r\n";
}

bool csv_tables = false;  // set once, before any verb runs

}  // namespace

void print_tables_as_csv(bool csv) {
  csv_tables = csv;
}
bool printing_csv() {
  return csv_tables;
}

std::string field(const json::value& v, std::string_view key) {
  return proto::printable(raw_field(v, key));  // ids and reasons from senders never drive the terminal
}

void print_table(const std::vector<std::string>& header, const std::vector<std::vector<std::string>>& rows) {
  if (!csv_tables) {
    std::cout << util::format_table(header, rows);
    return;
  }
  print_csv_line(header);
  for (const auto& row : rows) print_csv_line(row);
}

void print_details(const std::vector<std::pair<std::string, std::string>>& lines) {
  std::size_t width = 0;
  for (const auto& [label, value] : lines) width = std::max(width, label.size());
  for (const auto& [label, value] : lines)
    std::cout << label << ":" << std::string(width - label.size() + 2, ' ') << value << "\n";
}

const json::array& rows_of(const json::value& v) {
  static const json::array empty;
  return v.is_array() ? v.as_array() : empty;
}

const json::array& rows_of(const json::value& v, std::string_view key) {
  static const json::array empty;
  if (!v.is_object()) return empty;
  const auto* f = v.as_object().if_contains(key);
  return f && f->is_array() ? f->as_array() : empty;
}

}  // namespace hc::ctl
