// util/table: aligned text tables for people, the one printer behind hcctl's lists and `hcm list`.
// Owns only the layout (column widths, separators); the callers choose the columns, turn their
// data into cells and write the text where they print. Pure function; any thread.
#pragma once
#include <string>
#include <vector>

namespace hc::util {

// A header row, then the rows: columns separated by two spaces, each as wide as its widest cell;
// the last cell of every line is not padded (no trailing blanks). A row may have fewer cells than
// the header. Every line ends with "\n".
std::string format_table(const std::vector<std::string>& header,
                         const std::vector<std::vector<std::string>>& rows);

}  // namespace hc::util
