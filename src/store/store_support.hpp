// store/store_support: the small pieces both store implementations share beyond rows
// (record_rows.hpp): how an object is named in messages, and the check of the schema version a
// database carries before a store migrates it. Header-only, no state.
#pragma once
#include "store/store.hpp"

#include <exception>
#include <optional>
#include <string>

namespace hc::store {

// "namespace/name"; a rule is qualified(qualified(namespace, entity), name).
inline std::string qualified(const std::string& ns, const std::string& name) {
  return ns + "/" + name;
}

// The version in settings.schema_version (`stored`; nothing in a new database, which is at 0),
// checked: it must be a number, and not newer than `current` (a newer release wrote the database
// and this one must not touch it). Throws store_error "{where}: ..." otherwise.
inline int checked_schema_version(const std::optional<std::string>& stored, int current,
                                  const std::string& where) {
  if (!stored) return 0;
  int version = -1;
  try {
    std::size_t end = 0;
    version = std::stoi(*stored, &end);
    if (end != stored->size()) version = -1;
  } catch (const std::exception&) {
  }
  if (version < 0) throw store_error(where + ": schema version: expected a number, found '" + *stored + "'");
  if (version > current)
    throw store_error(where + ": schema version " + std::to_string(version) + " is newer than this build's " +
                      std::to_string(current) + "; run a newer hcrelay");
  return version;
}

}  // namespace hc::store
