// proto/json_body: reading the management API's JSON request bodies: the body as an object and
// typed, optional fields, each failure a 400 that names the field. Pure; the routes in
// relay/api_*.cpp decide what each resource needs, tests/fuzz/fuzz_api_body runs every shape.
#pragma once
#include "proto/error.hpp"
#include "proto/sas.hpp"

#include <boost/json/object.hpp>

#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>

namespace hc::proto {

// The body as a JSON object; an empty (or all-blank) body is an empty object. 400 otherwise.
result<boost::json::object> parse_json_object(std::string_view body);
// Optional fields: nullopt when absent or null; 400 naming the field when it has the wrong type.
result<std::optional<std::string>> string_field(const boost::json::object& o, std::string_view field);
result<std::optional<bool>> bool_field(const boost::json::object& o, std::string_view field);
// 400 naming the first field that is not in `known`.
result<void> only_fields(const boost::json::object& o, std::initializer_list<std::string_view> known);
// Required "rights": ["Listen","Send"] (ARM) or "Listen, Send"; at least one right.
result<rights> rights_field(const boost::json::object& o);
// Required "endpointPort": a number or a string of digits, 1-65535.
result<std::uint16_t> port_field(const boost::json::object& o);

}  // namespace hc::proto
