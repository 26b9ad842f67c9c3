// ctl/table: what the hcctl verbs print for people: aligned tables with a header row and
// "Label: value" detail blocks, reading fields from API JSON (missing or null fields print "-").
// Output goes to stdout; -o json bypasses this (options.hpp print_json).
#pragma once
#include <boost/json/value.hpp>

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace hc::ctl {

// The field as text: strings as they are, numbers and booleans as JSON, arrays of strings
// joined with ", ", absent or null as "-"; control characters escaped (proto::printable).
std::string field(const boost::json::value& v, std::string_view key);

// The table on stdout, laid out by util::format_table, or as CSV (RFC 4180) after
// print_tables_as_csv(true) (hcctl -o csv).
void print_table(const std::vector<std::string>& header, const std::vector<std::vector<std::string>>& rows);
void print_tables_as_csv(bool csv);
bool printing_csv();

// "Label:  value" lines with the values aligned.
void print_details(const std::vector<std::pair<std::string, std::string>>& lines);

// The array in `v` (or an empty one) for table rows.
const boost::json::array& rows_of(const boost::json::value& v);
const boost::json::array& rows_of(const boost::json::value& v, std::string_view key);

}  // namespace hc::ctl
