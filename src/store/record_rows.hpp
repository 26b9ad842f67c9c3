// store/record_rows: how each record is read back from a database row, shared by the SQLite and
// the PostgreSQL store: the columns to SELECT, in the order of the record's fields, next to the
// function that builds the record from such a row, so the two stores cannot drift apart. A Row
// offers text(column), integer(column) and flag(column) (a boolean). Not the tables, keys or
// ORDER BY of either store: their schemas fold case differently.
#pragma once
#include "store/store.hpp"

#include <string>
#include <string_view>

namespace hc::store::rows {

// "SELECT {columns} {rest}", e.g. select(plan_columns, "FROM plans ORDER BY name").
inline std::string select(std::string_view columns, std::string_view rest) {
  return "SELECT " + std::string(columns) + " " + std::string(rest);
}

inline constexpr std::string_view namespace_columns = "name, host, created_at, updated_at";
template <class Row>
namespace_record read_namespace(const Row& r) {
  return {r.text(0), r.text(1), r.text(2), r.text(3)};
}

inline constexpr std::string_view hybrid_connection_columns =
    "namespace_name, name, requires_client_authorization, user_metadata, created_at, updated_at";
template <class Row>
hybrid_connection_record read_hybrid_connection(const Row& r) {
  return {r.text(0), r.text(1), r.flag(2), r.text(3), r.text(4), r.text(5)};
}

inline constexpr std::string_view rule_columns =
    "namespace_name, entity, name, rights, primary_key, secondary_key";
template <class Row>
rule_record read_rule(const Row& r) {
  return {r.text(0), r.text(1), r.text(2), static_cast<unsigned>(r.integer(3)), r.text(4), r.text(5)};
}

inline constexpr std::string_view plan_columns = "name, sku, created_at, updated_at";
template <class Row>
plan_record read_plan(const Row& r) {
  return {r.text(0), r.text(1), r.text(2), r.text(3)};
}

inline constexpr std::string_view app_columns = "name, plan_name, send_key, created_at, updated_at";
template <class Row>
app_record read_app(const Row& r) {
  return {r.text(0), r.text(1), r.text(2), r.text(3), r.text(4)};
}

inline constexpr std::string_view app_link_columns = "app_name, namespace_name, hc_name, created_at";
template <class Row>
app_link_record read_app_link(const Row& r) {
  return {r.text(0), r.text(1), r.text(2), r.text(3)};
}

}  // namespace hc::store::rows
