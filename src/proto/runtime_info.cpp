// proto/runtime_info: the management GET's Atom entry (protocol doc §7): building the
// HybridConnectionDescription the relay answers with, and a tolerant reader for hcm (finds the
// five elements by name and unescapes XML entities; no XML library, no DTDs, no namespaces).
// Which entity and which counts go in is relay/'s business. Pure functions.
#include "proto/runtime_info.hpp"

#include "proto/encoding.hpp"

#include <charconv>
#include <optional>

namespace hc::proto {
namespace {

// Text of the first element named `name` (no prefix) inside `xml`: nullopt when absent, "" for
// <name/> or an element with i:nil. The text is still escaped.
std::optional<std::string_view> element_text(std::string_view xml, std::string_view name) {
  const std::string open = "<" + std::string(name);
  for (std::size_t at = xml.find(open); at != std::string_view::npos; at = xml.find(open, at + 1)) {
    const std::size_t after = at + open.size();
    if (after >= xml.size()) return std::nullopt;
    const char c = xml[after];
    if (c != '>' && c != '/' && c != ' ' && c != '\t' && c != '\r' && c != '\n') continue;  // a longer name
    const std::size_t tag_end = xml.find('>', after);
    if (tag_end == std::string_view::npos) return std::nullopt;
    if (xml[tag_end - 1] == '/') return std::string_view{};
    const std::string close = "</" + std::string(name) + ">";
    const std::size_t close_at = xml.find(close, tag_end + 1);
    if (close_at == std::string_view::npos) return std::nullopt;
    return xml.substr(tag_end + 1, close_at - tag_end - 1);
  }
  return std::nullopt;
}

void append_utf8(std::string& out, std::uint32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

// Unescapes the five named entities and numeric references; an unknown entity stays as written.
std::string xml_unescape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '&') {
      out += text[i];
      continue;
    }
    const std::size_t semi = text.find(';', i);
    if (semi == std::string_view::npos || semi - i > 10) {
      out += '&';
      continue;
    }
    const std::string_view entity = text.substr(i + 1, semi - i - 1);
    bool known = true;
    if (entity == "amp") {
      out += '&';
    } else if (entity == "lt") {
      out += '<';
    } else if (entity == "gt") {
      out += '>';
    } else if (entity == "quot") {
      out += '"';
    } else if (entity == "apos") {
      out += '\'';
    } else if (entity.size() > 1 && entity[0] == '#') {
      const bool hex = entity[1] == 'x' || entity[1] == 'X';
      const std::string_view digits = entity.substr(hex ? 2 : 1);
      std::uint32_t cp = 0;
      const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), cp, hex ? 16 : 10);
      known = !digits.empty() && ec == std::errc{} && end == digits.data() + digits.size() &&
              cp <= 0x10FFFF && !(cp >= 0xD800 && cp <= 0xDFFF);
      if (known) append_utf8(out, cp);
    } else {
      known = false;
    }
    if (known) {
      i = semi;
    } else {
      out += '&';
    }
  }
  return out;
}

error xml_error(std::string what) {
  return error::bad_request("runtime info: " + std::move(what) +
                            "; the server did not answer with a HybridConnectionDescription, check the URL "
                            "points at a hybrid connection and api-version=2016-07");
}

}  // namespace

std::string xml_escape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";  // valid in XML and HTML alike (hcm's web UI escapes with this too)
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::string build_runtime_info_xml(const runtime_info& info, std::string_view entity_url) {
  const std::string url = xml_escape(entity_url);
  const std::string& updated = info.updated_at.empty() ? info.created_at : info.updated_at;
  std::string out;
  out.reserve(768 + info.user_metadata.size());
  out += "<entry xmlns=\"http://www.w3.org/2005/Atom\">";
  out += "<title type=\"text\">" + url + "</title>";
  out += "<id>" + url + "</id>";
  out += "<updated>" + xml_escape(updated) + "</updated>";
  out += "<content type=\"application/xml\">";
  out +=
      "<HybridConnectionDescription "
      "xmlns=\"http://schemas.microsoft.com/netservices/2010/10/servicebus/connect\" "
      "xmlns:i=\"http://www.w3.org/2001/XMLSchema-instance\">";
  // DataContractSerializer order: CreatedAt, UpdatedAt, RequiresClientAuthorization, UserMetadata,
  // ListenerCount.
  out += "<CreatedAt>" + xml_escape(info.created_at) + "</CreatedAt>";
  out += "<UpdatedAt>" + xml_escape(info.updated_at) + "</UpdatedAt>";
  out += "<RequiresClientAuthorization>";
  out += info.requires_client_authorization ? "true" : "false";
  out += "</RequiresClientAuthorization>";
  out += "<UserMetadata>" + xml_escape(info.user_metadata) + "</UserMetadata>";
  out += "<ListenerCount>" + std::to_string(info.listener_count) + "</ListenerCount>";
  out += "</HybridConnectionDescription></content></entry>";
  return out;
}

result<runtime_info> parse_runtime_info_xml(std::string_view xml) {
  const std::size_t desc = xml.find("<HybridConnectionDescription");
  if (desc == std::string_view::npos) {
    if (xml.find("<feed") != std::string_view::npos)
      return error::not_found(
          "runtime info: the server answered with an empty feed, so the hybrid connection does not exist; "
          "check its name and namespace");
    return xml_error("no <HybridConnectionDescription> element in " + std::to_string(xml.size()) + " bytes");
  }
  const std::string_view body = xml.substr(desc);
  runtime_info info;
  if (auto v = element_text(body, "CreatedAt")) info.created_at = xml_unescape(trim_space(*v));
  if (auto v = element_text(body, "UpdatedAt")) info.updated_at = xml_unescape(trim_space(*v));
  if (auto v = element_text(body, "RequiresClientAuthorization")) {
    const std::string_view t = trim_space(*v);
    if (t == "true" || t == "1") {
      info.requires_client_authorization = true;
    } else if (t == "false" || t == "0") {
      info.requires_client_authorization = false;
    } else {
      return xml_error("RequiresClientAuthorization: expected true or false, got " + quote_for_message(t));
    }
  }
  if (auto v = element_text(body, "UserMetadata")) info.user_metadata = xml_unescape(*v);
  if (auto v = element_text(body, "ListenerCount")) {
    const std::string_view t = trim_space(*v);
    int n = 0;
    const auto [end, ec] = std::from_chars(t.data(), t.data() + t.size(), n);
    if (t.empty() || ec != std::errc{} || end != t.data() + t.size() || n < 0)
      return xml_error("ListenerCount: expected a whole number >= 0, got " + quote_for_message(t));
    info.listener_count = n;
  }
  return info;
}

std::string build_management_error_xml(int status, std::string_view detail) {
  return "<Error><Code>" + std::to_string(status) + "</Code><Detail>" + xml_escape(detail) +
         "</Detail></Error>";
}

}  // namespace hc::proto
