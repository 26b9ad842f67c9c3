// util/private_file: files that hold keys (connection strings, agent configuration): written
// atomically (temp file + rename) with mode 0600 from the first byte, and read back whole. Root
// writing into a service user's directory (`hcm add` into /etc/hcm) leaves the file to that user.
#pragma once
#include <optional>
#include <string>

namespace hc::util {

// Creates the directory with mode 0700 (and its missing parents as umask allows) unless it exists;
// throws std::runtime_error naming it when it cannot. An existing directory is left as it is.
void ensure_private_dir(const std::string& dir);

// Throws std::runtime_error naming the path when it cannot be written. Written by root into a
// directory another user owns, the file belongs to that user (and its group), so the service
// running as that user can still read and replace it.
void write_private_file(const std::string& path, const std::string& content);
// nullopt when the file does not exist; throws when it exists but cannot be read.
std::optional<std::string> read_file(const std::string& path);
// A password file given with `option` (such as --store-password-file): its content without the
// final line break. Throws std::runtime_error naming the option when missing or empty.
std::string read_secret_file(const std::string& path, const std::string& option);
// The same for a file that holds a key (such as --app-key-file), refused with a sentence that says
// how to fix it when group or others may read it (any of the mode's 077 bits).
std::string read_owner_only_secret_file(const std::string& path, const std::string& option);

}  // namespace hc::util
