// Unit tests for cluster/redis_url: every part of redis://[[user]:password@]host[:port][/db],
// the defaults, and a sentence for bad input that names the part at fault and never the password.
#include "cluster/redis_url.hpp"

#include <gtest/gtest.h>

namespace hc::cluster {
namespace {

TEST(RedisUrl, ReadsEveryPart) {
  auto e = parse_redis_url("redis://relay:p%40ss@cache.corp:6380/3");
  ASSERT_TRUE(e) << e.error().message;
  EXPECT_EQ(e->host, "cache.corp");
  EXPECT_EQ(e->port, 6380);
  EXPECT_EQ(e->user, "relay");
  EXPECT_EQ(e->password, "p@ss");
  EXPECT_EQ(e->db, 3);
  EXPECT_EQ(e->address(), "cache.corp:6380");
}

TEST(RedisUrl, FillsTheDefaults) {
  auto plain = parse_redis_url("redis://localhost");
  ASSERT_TRUE(plain) << plain.error().message;
  EXPECT_EQ(plain->port, 6379);
  EXPECT_EQ(plain->db, 0);
  EXPECT_TRUE(plain->password.empty());
  auto password_only = parse_redis_url("REDIS://:secret@127.0.0.1/");
  ASSERT_TRUE(password_only) << password_only.error().message;
  EXPECT_TRUE(password_only->user.empty());
  EXPECT_EQ(password_only->password, "secret");
  auto v6 = parse_redis_url("redis://[::1]:7000");
  ASSERT_TRUE(v6) << v6.error().message;
  EXPECT_EQ(v6->host, "::1");
  EXPECT_EQ(v6->address(), "[::1]:7000");
}

TEST(RedisUrl, BadInputGetsASentenceWithoutThePassword) {
  const std::pair<const char*, const char*> cases[] = {
      {"http://:hunter2@host", "scheme \"http\" is not redis"},
      {"rediss://:hunter2@host", "rediss://, is not supported"},
      {"redis://:hunter2@", "no host"},
      {"redis://:hunter2@host:0", "port \"0\" is not a number 1..65535"},
      {"redis://:hunter2@host:70000", "port \"70000\""},
      {"redis://hunter2@host", "no ':' before the password"},
      {"redis://user:@host", "password after ':' is empty"},
      {"redis://:hunter2@host/first", "database \"first\" is not a number"},
      {"redis://:hunter2@host/1?timeout=5", "query or fragment"},
      {"hunter2 is not a url", "not a URL"},
  };
  for (const auto& [url, expected] : cases) {
    auto e = parse_redis_url(url);
    ASSERT_FALSE(e) << url;
    const auto& m = e.error().message;
    EXPECT_EQ(e.error().status, 400) << url;
    EXPECT_NE(m.find(expected), std::string::npos) << url << " -> " << m;
    EXPECT_TRUE(m.starts_with("redis URL: ")) << m;
    EXPECT_NE(m.find("write redis://[[user]:password@]host[:port][/db]"), std::string::npos) << m;
    EXPECT_EQ(m.find("hunter2"), std::string::npos) << m;
  }
}

}  // namespace
}  // namespace hc::cluster
