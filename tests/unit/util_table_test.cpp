// Unit tests for util/table: the layout hcctl's lists and `hcm list` print, byte for byte
// (columns two spaces apart and as wide as their widest cell, no trailing blanks, short rows).
#include "util/table.hpp"

#include <gtest/gtest.h>

namespace hc::util {
namespace {

TEST(UtilTable, ColumnsAreAsWideAsTheirWidestCellAndTwoSpacesApart) {
  auto text = format_table({"NAME", "STATUS", "LISTENERS", "ENDPOINT"},
                           {{"db", "Active", "1", "db.corp.internal:5432"}, {"cache-east", "-", "0", "-"}});
  EXPECT_EQ(text,
            "NAME        STATUS  LISTENERS  ENDPOINT\n"
            "db          Active  1          db.corp.internal:5432\n"
            "cache-east  -       0          -\n");
}

TEST(UtilTable, TheLastCellOfALineIsNotPadded) {
  auto text =
      format_table({"RULE", "RIGHTS"}, {{"RootManageSharedAccessKey", "Listen, Send, Manage"}, {"x"}});
  EXPECT_EQ(text,
            "RULE                       RIGHTS\n"
            "RootManageSharedAccessKey  Listen, Send, Manage\n"
            "x\n");
}

TEST(UtilTable, NoRowsPrintsTheHeader) {
  EXPECT_EQ(format_table({"NAME", "HOST"}, {}), "NAME  HOST\n");
}

}  // namespace
}  // namespace hc::util
