// manager/ui_token: the secret that authorises hcm's local web UI: STATE_DIR/ui-token, 64 hex
// digits (256 bits from OpenSSL's RAND_bytes), mode 0600, made by `hcm run` at its first start
// with O_EXCL (never replaced, never logged, never on a command line), and the URL that carries
// it (`hcm ui-url`, as Jupyter prints one). Checking requests against it is web_ui.cpp's job.
// Plain synchronous file I/O; safe to call from the CLI and the service at the same time.
#pragma once
#include <cstdint>
#include <optional>
#include <string>

namespace hc::manager {

std::string ui_token_path(const std::string& state_dir);

// The token, made first when the file does not exist. Throws std::runtime_error naming the file
// when it cannot be made or read, is not 64 hex digits, or is readable by group or others.
std::string load_or_create_ui_token(const std::string& state_dir);
// The token, or nullopt when the file does not exist (the service never ran with a UI); throws
// as above.
std::optional<std::string> read_ui_token(const std::string& state_dir);

// http://127.0.0.1:PORT/?token=TOKEN
std::string ui_url(std::uint16_t port, const std::string& token);

}  // namespace hc::manager
