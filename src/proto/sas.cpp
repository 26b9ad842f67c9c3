// proto/sas: SAS tokens as Azure Relay clients write them (protocol doc §2): parsing, HMAC-SHA256
// signing with a prepared OpenSSL 3 EVP_MAC context, and the scope an `sr` covers.
// Which rule a key name maps to and which rights a gesture needs live in relay/model/authorizer.
// sas_key does its key schedule once; sign/verifies duplicate the context, so one sas_key may be
// used from many threads at once. No message built here ever contains a key or a signature.
#include "proto/sas.hpp"

#include "proto/encoding.hpp"
#include "proto/hc_address.hpp"

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include <array>
#include <charconv>
#include <stdexcept>

namespace hc::proto {
namespace {

constexpr std::size_t mac_bytes = 32;  // HMAC-SHA256
constexpr std::string_view token_form = "SharedAccessSignature sr=..&sig=..&se=..&skn=..";

error token_error(std::string what) {
  return error::unauthorized("SAS token " + std::move(what) + "; expected " + std::string(token_form) +
                             ", make a new token with the rule's key");
}

}  // namespace

bool grants(rights have, rights need) noexcept {
  if ((have & rights::manage) == rights::manage) return true;
  return (have & need) == need;
}

std::string to_string(rights r) {
  std::string out;
  auto add = [&](rights bit, std::string_view name) {
    if ((r & bit) != bit) return;
    if (!out.empty()) out += ", ";
    out += name;
  };
  add(rights::manage, "Manage");
  add(rights::listen, "Listen");
  add(rights::send, "Send");
  return out.empty() ? "None" : out;
}

result<rights> parse_rights(std::string_view s) {
  auto bad = [&] {
    return error::bad_request("rights: expected a comma-separated list of Listen, Send, Manage; got " +
                              quote_for_message(s) + "; write e.g. \"Listen,Send\"");
  };
  rights r = rights::none;
  bool any = false;
  std::string_view rest = s;
  while (true) {
    const auto comma = rest.find(',');
    const std::string_view item = trim_space(rest.substr(0, comma));
    if (iequals(item, "listen")) {
      r = r | rights::listen;
    } else if (iequals(item, "send")) {
      r = r | rights::send;
    } else if (iequals(item, "manage")) {
      r = r | rights::manage;
    } else if (!item.empty()) {
      return bad();
    }
    any = any || !item.empty();
    if (comma == std::string_view::npos) break;
    rest.remove_prefix(comma + 1);
  }
  if (!any) return bad();
  return r;
}

result<sas_token> parse_sas_token(std::string_view text) {
  text = trim_space(text);
  const auto space = text.find_first_of(" \t");
  if (space == std::string_view::npos || !iequals(text.substr(0, space), "SharedAccessSignature"))
    return token_error("must start with \"SharedAccessSignature \"");
  const std::string_view fields = trim_space(text.substr(space + 1));

  std::optional<std::string_view> sr, sig, se, skn;
  std::string_view rest = fields;
  while (!rest.empty()) {
    const auto amp = rest.find('&');
    const std::string_view pair = rest.substr(0, amp);
    rest = amp == std::string_view::npos ? std::string_view{} : rest.substr(amp + 1);
    if (pair.empty()) continue;
    const auto eq = pair.find('=');
    const std::string_view name = pair.substr(0, eq);
    const std::string_view value = eq == std::string_view::npos ? std::string_view{} : pair.substr(eq + 1);
    std::optional<std::string_view>* slot = iequals(name, "sr")    ? &sr
                                            : iequals(name, "sig") ? &sig
                                            : iequals(name, "se")  ? &se
                                            : iequals(name, "skn") ? &skn
                                                                   : nullptr;
    if (slot == nullptr) continue;  // unknown fields are ignored, as .NET does
    if (slot->has_value()) return token_error("field " + to_lower(name) + " appears twice");
    *slot = value;
  }
  if (!sr || sr->empty()) return token_error("has no sr (the signed resource URI)");
  if (!sig || sig->empty()) return token_error("has no sig (the signature)");
  if (!se || se->empty()) return token_error("has no se (the expiry, Unix seconds)");
  if (!skn || skn->empty()) return token_error("has no skn (the key name)");

  sas_token token;
  token.resource = std::string(*sr);

  const auto sig_text = percent_decode(*sig, true);
  if (!sig_text) return token_error("field sig has a bad %-escape");
  auto raw = base64_decode(*sig_text);
  if (!raw) {
    // A token pasted into a query without encoding: its '+' arrived as ' '.
    std::string repaired = *sig_text;
    for (char& c : repaired)
      if (c == ' ') c = '+';
    raw = base64_decode(repaired);
  }
  if (!raw) return token_error("field sig is not base64");
  if (raw->size() != mac_bytes)
    return token_error("field sig decodes to " + std::to_string(raw->size()) +
                       " bytes, an HMAC-SHA256 has 32");
  token.signature = std::move(*raw);

  const auto [end, ec] = std::from_chars(se->data(), se->data() + se->size(), token.expiry);
  if (ec != std::errc{} || end != se->data() + se->size() || token.expiry < 0)
    return token_error("field se must be whole seconds since 1970, got " + quote_for_message(*se));

  auto name = percent_decode(*skn, true);
  if (!name) return token_error("field skn has a bad %-escape: " + quote_for_message(*skn));
  token.key_name = std::move(*name);
  return token;
}

struct sas_key::impl {
  EVP_MAC_CTX* ctx = nullptr;  // keyed and initialised once; never updated, only duplicated
  ~impl() { EVP_MAC_CTX_free(ctx); }

  std::array<unsigned char, mac_bytes> mac(std::string_view raw_resource, std::int64_t expiry) const {
    const std::string expiry_text = std::to_string(expiry);
    EVP_MAC_CTX* work = EVP_MAC_CTX_dup(ctx);
    if (work == nullptr) throw std::runtime_error("EVP_MAC_CTX_dup failed (out of memory?)");
    std::array<unsigned char, mac_bytes> out{};
    std::size_t out_len = 0;
    const bool ok = EVP_MAC_update(work, reinterpret_cast<const unsigned char*>(raw_resource.data()),
                                   raw_resource.size()) == 1 &&
                    EVP_MAC_update(work, reinterpret_cast<const unsigned char*>("\n"), 1) == 1 &&
                    EVP_MAC_update(work, reinterpret_cast<const unsigned char*>(expiry_text.data()),
                                   expiry_text.size()) == 1 &&
                    EVP_MAC_final(work, out.data(), &out_len, out.size()) == 1;
    EVP_MAC_CTX_free(work);
    if (!ok || out_len != mac_bytes) throw std::runtime_error("HMAC-SHA256 failed inside OpenSSL");
    return out;
  }
};

sas_key::sas_key(std::string_view key_text) : impl_(std::make_unique<impl>()) {
  EVP_MAC* hmac = EVP_MAC_fetch(nullptr, "HMAC", nullptr);
  if (hmac == nullptr) throw std::runtime_error("OpenSSL has no HMAC (EVP_MAC_fetch failed)");
  impl_->ctx = EVP_MAC_CTX_new(hmac);
  EVP_MAC_free(hmac);  // the context holds its own reference
  if (impl_->ctx == nullptr) throw std::runtime_error("EVP_MAC_CTX_new failed (out of memory?)");
  char digest[] = "SHA256";
  const OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
                               OSSL_PARAM_construct_end()};
  // The key is the UTF-8 text as-is (protocol doc §2.2). A non-null pointer even for an empty key:
  // a null key means "keep the previous key" to EVP_MAC_init.
  static const unsigned char empty = 0;
  const auto* key = key_text.empty() ? &empty : reinterpret_cast<const unsigned char*>(key_text.data());
  if (EVP_MAC_init(impl_->ctx, key, key_text.size(), params) != 1)
    throw std::runtime_error("EVP_MAC_init for HMAC-SHA256 failed");
}

sas_key::~sas_key() = default;
sas_key::sas_key(sas_key&&) noexcept = default;
sas_key& sas_key::operator=(sas_key&&) noexcept = default;

std::string sas_key::sign(std::string_view raw_resource, std::int64_t expiry) const {
  const auto mac = impl_->mac(raw_resource, expiry);
  return base64_encode(std::span<const std::uint8_t>(mac.data(), mac.size()));
}

bool sas_key::verifies(const sas_token& token) const {
  const auto mac = impl_->mac(token.resource, token.expiry);
  return constant_time_equals(std::string_view(reinterpret_cast<const char*>(mac.data()), mac.size()),
                              token.signature);
}

std::string make_sas_token(std::string_view resource_uri, std::string_view key_name,
                           std::string_view key_text, std::int64_t expiry) {
  const std::string sr = percent_encode(resource_uri);
  const std::string sig = sas_key(key_text).sign(sr, expiry);
  return "SharedAccessSignature sr=" + sr + "&sig=" + percent_encode(sig) + "&se=" + std::to_string(expiry) +
         "&skn=" + percent_encode(key_name);
}

result<sas_scope> token_scope(std::string_view raw_resource) {
  auto bad = [&](std::string why) {
    return error::unauthorized("SAS token field sr " + std::move(why) + ", got " +
                               quote_for_message(raw_resource) +
                               "; sign a URI such as http://{namespace-host}/{hybrid-connection}");
  };
  const auto decoded = percent_decode(raw_resource, true);
  if (!decoded) return bad("has a bad %-escape");
  std::string_view uri = *decoded;

  const auto colon = uri.find("://");
  if (colon == std::string_view::npos) return bad("is not an absolute URI");
  const std::string_view scheme = uri.substr(0, colon);
  if (!iequals(scheme, "http") && !iequals(scheme, "https") && !iequals(scheme, "sb") &&
      !iequals(scheme, "ws") && !iequals(scheme, "wss"))
    return bad("must use scheme http, https, sb, ws or wss");
  uri.remove_prefix(colon + 3);

  const auto authority_end = uri.find_first_of("/?#");
  std::string_view authority = uri.substr(0, authority_end);
  std::string_view rest =
      authority_end == std::string_view::npos ? std::string_view{} : uri.substr(authority_end);
  if (const auto at = authority.rfind('@'); at != std::string_view::npos) authority.remove_prefix(at + 1);
  std::string_view host;
  if (!authority.empty() && authority.front() == '[') {
    const auto close = authority.find(']');
    if (close == std::string_view::npos) return bad("has an unclosed '[' in its host");
    host = authority.substr(1, close - 1);
  } else {
    host = authority.substr(0, authority.find(':'));  // the port is ignored (§2.3: clients differ)
  }
  if (host.empty()) return bad("has no host");

  std::string_view path = rest.substr(0, rest.find_first_of("?#"));
  // The path inside the URI is itself URI-escaped (.NET signs Uri.AbsoluteUri).
  auto path_decoded = percent_decode(path, false);
  if (!path_decoded) return bad("has a bad %-escape in its path");
  std::string_view p = *path_decoded;
  while (!p.empty() && p.front() == '/') p.remove_prefix(1);
  if (istarts_with(p, "$hc/")) {
    p.remove_prefix(4);
  } else if (iequals(p, "$hc")) {
    p = {};
  }
  while (!p.empty() && p.back() == '/') p.remove_suffix(1);

  return sas_scope{to_lower(host), std::string(p)};
}

bool scope_covers(const sas_scope& scope, std::string_view ns_host, std::string_view entity_path) noexcept {
  if (!iequals(scope.host, ns_host)) return false;
  if (scope.path.empty()) return true;  // the whole namespace
  while (!entity_path.empty() && entity_path.front() == '/') entity_path.remove_prefix(1);
  return is_segment_prefix(scope.path, entity_path);
}

}  // namespace hc::proto
