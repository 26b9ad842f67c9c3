// relay/model/store_location: which catalog store a relay opens (hcrelay --store): SQLite in its
// data directory (the embedded default, this relay alone) or a PostgreSQL database every relay of
// a cluster shares. The password never travels on the command line: it comes from a file.
#pragma once
#include "store/store.hpp"

#include <memory>
#include <string>

namespace hc::relay {

struct opened_store {
  std::unique_ptr<store::store> db;
  bool shared = false;      // other relays write it too: follow its revision (catalog_sync)
  std::string description;  // for the log: a path, or postgres host:port/db (never a password)
};

// `location` empty: DATA_DIR/relay.db. Else a postgres:// or postgresql:// URL without a password;
// `password_file` (optional) holds the password. Throws std::runtime_error (bad location) or
// store::store_error (cannot open) with a sentence that says what to do.
opened_store open_catalog_store(const std::string& location, const std::string& password_file,
                                const std::string& data_dir);

}  // namespace hc::relay
