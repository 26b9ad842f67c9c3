// proto/sas: Shared Access Signature tokens exactly as Azure Relay clients make them
// (protocol doc §2). Parsing, signing with a prepared key, scope checks. The relay's rule lookup
// and rights decisions live in relay/model/authorizer; this file knows nothing about entities.
// sas_key is immutable after construction and safe to share between threads.
#pragma once
#include "proto/error.hpp"

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace hc::proto {

// Rights of an authorization rule. Manage implies Listen and Send.
enum class rights : unsigned { none = 0, listen = 1, send = 2, manage = 4 };
constexpr rights operator|(rights a, rights b) {
  return rights(unsigned(a) | unsigned(b));
}
constexpr rights operator&(rights a, rights b) {
  return rights(unsigned(a) & unsigned(b));
}
// True when `have` grants `need` (Manage grants everything).
bool grants(rights have, rights need) noexcept;
std::string to_string(rights r);                  // "Listen, Send" / "Manage, Listen, Send"
result<rights> parse_rights(std::string_view s);  // "Listen,Send" case-insensitive, any order

struct sas_token {
  std::string resource;     // `sr` exactly as in the token: still percent-encoded (it is signed so)
  std::string signature;    // `sig` URL-decoded and base64-decoded: the raw 32 MAC bytes
  std::int64_t expiry = 0;  // `se`, seconds since the Unix epoch
  std::string key_name;     // `skn`, URL-decoded
};

// "SharedAccessSignature sr=..&sig=..&se=..&skn=.." with fields in any order, prefix and field
// names case-insensitive. Errors are 401 and name the missing or malformed field.
result<sas_token> parse_sas_token(std::string_view text);

// An HMAC-SHA256 key keyed with the UTF-8 bytes of the key text as-is (NOT base64-decoded),
// prepared once so signing costs no key schedule.
class sas_key {
 public:
  explicit sas_key(std::string_view key_text);
  ~sas_key();
  sas_key(sas_key&&) noexcept;
  sas_key& operator=(sas_key&&) noexcept;
  // base64(HMAC(raw_sr + "\n" + se)): the `sig` value before URL-encoding.
  std::string sign(std::string_view raw_resource, std::int64_t expiry) const;
  // Constant-time check of token.signature against this key.
  bool verifies(const sas_token& token) const;

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

// Builds a token the way the .NET SDK does: sr = percent_encode(resource_uri), fields in the
// order sr, sig, se, skn.
std::string make_sas_token(std::string_view resource_uri, std::string_view key_name,
                           std::string_view key_text, std::int64_t expiry);

// What a token's `sr` covers: host (lower-case, no port) and entity path (decoded, no leading
// or trailing '/', a leading "$hc/" removed; empty = the whole namespace).
struct sas_scope {
  std::string host;
  std::string path;
};
// Scheme (http/https/sb/ws/wss) and port are ignored. 401 when `sr` is not a URI.
result<sas_scope> token_scope(std::string_view raw_resource);

// True when scope.host equals ns_host and scope.path is a segment prefix of entity_path
// (both case-insensitive).
bool scope_covers(const sas_scope& scope, std::string_view ns_host, std::string_view entity_path) noexcept;

}  // namespace hc::proto
