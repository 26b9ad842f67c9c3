// relay/model/store_location: --store and --store-password-file to an open store (see
// store_location.hpp).
#include "relay/model/store_location.hpp"

#include "util/private_file.hpp"

#include <boost/url/parse.hpp>
#include <boost/url/url.hpp>
#include <filesystem>
#include <stdexcept>

namespace hc::relay {

opened_store open_catalog_store(const std::string& location, const std::string& password_file,
                                const std::string& data_dir) {
  if (location.empty()) {
    if (!password_file.empty())
      throw std::runtime_error("--store-password-file needs --store postgres://...");
    auto path = (std::filesystem::path(data_dir) / "relay.db").string();
    return {store::open_sqlite_store(path), false, path};
  }
  auto parsed = boost::urls::parse_absolute_uri(location);
  if (!parsed || (parsed->scheme() != "postgres" && parsed->scheme() != "postgresql") ||
      !parsed->has_authority())
    throw std::runtime_error(
        "--store takes a PostgreSQL URL such as postgres://hcrelay@db.internal:5432/hcrelay");
  if (parsed->has_password())
    throw std::runtime_error(
        "--store must not carry a password (the command line is visible to every local user): put it in a "
        "file readable by the relay only and pass --store-password-file FILE");
  boost::urls::url url(*parsed);
  auto description = "postgres " + std::string(url.encoded_host_and_port()) + std::string(url.encoded_path());
  if (!password_file.empty())
    url.set_password(util::read_secret_file(password_file, "--store-password-file"));
  return {store::open_postgres_store(std::string(url.buffer())), true, description};
}

}  // namespace hc::relay
