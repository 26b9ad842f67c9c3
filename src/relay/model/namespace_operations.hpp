// relay/model/namespace_operations: operations on namespaces and authorization rules that
// relay/model/hc_operations (hybrid connections) does not own: creating a namespace (with its
// RootManageSharedAccessKey) for another host, creating, deleting and listing rules on a
// namespace or a hybrid connection (at most max_rules_per_scope), and regenerating a rule's
// primary or secondary key. Store first, then the catalog; check-and-write runs on the store
// worker. A key change reaches open listeners at once: the catalog's observer closes every
// listener whose token no longer holds (relay/listen, recheck_listeners); tunnels
// already open run to their end.
#pragma once
#include "proto/error.hpp"
#include "proto/sas.hpp"
#include "relay/context.hpp"
#include "relay/model/app_operations.hpp"

#include <string>
#include <vector>

namespace hc::relay {

// Azure's limit on shared access policies per namespace or entity.
inline constexpr std::size_t max_rules_per_scope = 12;

// 400 naming the field unless `host` is a DNS name (letters, digits, '-' and '.'; no port).
proto::result<std::string> validate_host_name(std::string_view host);

// Creates the namespace served at `host` (lower-cased) with RootManageSharedAccessKey, or
// changes its host. 409 when another namespace has that host.
net::task<proto::result<outcome>> put_namespace(relay_context& ctx, std::string name, std::string host);

// Where a rule lives: a namespace (entity empty) or one of its hybrid connections.
struct rule_scope {
  std::string namespace_name;
  std::string entity;
};
// The rules of a scope from the freshest catalog; 404 for an unknown namespace or entity.
proto::result<std::vector<store::rule_record>> list_rules(relay_context& ctx, const rule_scope& scope);
// Creates the rule with fresh keys, or changes its rights (keys kept). 409 at the limit.
net::task<proto::result<outcome>> put_rule(relay_context& ctx, rule_scope scope, std::string name,
                                           proto::rights rights);
net::task<proto::result<void>> delete_rule(relay_context& ctx, rule_scope scope, std::string name);
enum class key_slot { primary, secondary };
net::task<proto::result<store::rule_record>> regenerate_rule_key(relay_context& ctx, rule_scope scope,
                                                                 std::string name, key_slot slot);

}  // namespace hc::relay
