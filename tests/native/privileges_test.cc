#include "app/privileges.h"

#include <gtest/gtest.h>

#include <algorithm>

namespace skynet::app {
namespace {

TEST(LikeMatch, FollowsMysqlsWildcardsAndEscapes) {
  EXPECT_TRUE(likeMatch("aegir", "aegir"));
  EXPECT_FALSE(likeMatch("aegir", "Aegir"));
  EXPECT_TRUE(likeMatch("aegir_live", "aegir%"));
  EXPECT_TRUE(likeMatch("aegir", "%"));
  EXPECT_TRUE(likeMatch("aegir_live", "aegir\\_%"));
  EXPECT_FALSE(likeMatch("aegirXlive", "aegir\\_%"));
  EXPECT_TRUE(likeMatch("aegirXlive", "aegir_live"));  // an unescaped _ is any one character
  EXPECT_FALSE(likeMatch("aegir", "aegir_"));
  EXPECT_TRUE(likeMatch("a-b-c", "a%c"));
  EXPECT_TRUE(likeMatch("abcbc", "%bc"));
  EXPECT_FALSE(likeMatch("abcbd", "%bc"));
  EXPECT_TRUE(likeMatch("", "%"));
  EXPECT_FALSE(likeMatch("", "_"));
}

TEST(Grants, AGlobalGrantCoversEveryTable) {
  const Grants grants("'u'@'h'", {{"CREATE", "", ""}}, {});
  EXPECT_TRUE(grants.allows("CREATE", "aegir", ""));
  EXPECT_TRUE(grants.allows("CREATE", "other", "node"));
  EXPECT_FALSE(grants.allows("ALTER", "aegir", ""));
}

TEST(Grants, ADatabaseGrantCoversItsTablesThroughWildcards) {
  const Grants grants("'u'@'h'", {{"SELECT", "aegir\\_%", ""}, {"DELETE", "aegir", ""}}, {});
  EXPECT_TRUE(grants.allows("SELECT", "aegir_live", "node"));
  EXPECT_TRUE(grants.allows("SELECT", "aegir_live", ""));
  EXPECT_FALSE(grants.allows("SELECT", "aegir", "node"));
  EXPECT_TRUE(grants.allows("DELETE", "aegir", "semaphore"));
}

TEST(Grants, ATableGrantCoversThatTableOnly) {
  const Grants grants("'u'@'h'", {{"DELETE", "aegir", "semaphore"}}, {});
  EXPECT_TRUE(grants.allows("DELETE", "aegir", "semaphore"));
  EXPECT_FALSE(grants.allows("DELETE", "aegir", "variable"));
  EXPECT_FALSE(grants.allows("DELETE", "aegir", ""));  // not the whole database
  EXPECT_FALSE(grants.allows("DELETE", "aegir2", "semaphore"));
}

bool requires(const std::vector<Requirement>& needed, const std::string& privilege, const std::string& table) {
  return std::any_of(needed.begin(), needed.end(),
                     [&](const Requirement& r) { return r.privilege == privilege && r.table == table; });
}

TEST(RequiredPrivileges, CreatingSkynetsTablesNeedsCreateAndAlterOnTheDatabase) {
  SchemaState state;
  state.currentVersion = 2;
  const auto needed = requiredPrivileges(state);
  EXPECT_TRUE(requires(needed, "CREATE", ""));
  EXPECT_TRUE(requires(needed, "ALTER", ""));
  EXPECT_TRUE(requires(needed, "INSERT", ""));
  EXPECT_EQ(needed.front().why, "to create Skynet's tables");
  state.skynetVersion = 1;
  EXPECT_EQ(requiredPrivileges(state).front().why, "to migrate Skynet's tables");
}

TEST(RequiredPrivileges, CurrentSkynetTablesNeedDataPrivilegesAndCreateOfTheVersionTable) {
  SchemaState state;
  state.prefix = "p_";
  state.skynetVersion = state.currentVersion = 2;
  state.skynetTables = {"p_skynet_run", "p_skynet_schema"};
  const auto needed = requiredPrivileges(state);
  EXPECT_FALSE(requires(needed, "CREATE", ""));
  EXPECT_FALSE(requires(needed, "ALTER", ""));
  EXPECT_TRUE(requires(needed, "CREATE", "p_skynet_schema"));
  EXPECT_TRUE(requires(needed, "DELETE", "p_skynet_run"));
  EXPECT_FALSE(requires(needed, "ALTER", "p_hosting_task"));
}

TEST(RequiredPrivileges, AegirsTablesWithThePrefix) {
  SchemaState state;
  state.prefix = "p_";
  state.skynetVersion = state.currentVersion = 2;
  auto needed = requiredPrivileges(state);
  for (const char* table : {"p_hosting_task", "p_hosting_task_log", "p_variable", "p_semaphore"}) {
    for (const char* privilege : {"SELECT", "INSERT", "UPDATE", "DELETE"}) {
      EXPECT_TRUE(requires(needed, privilege, table)) << privilege << " " << table;
    }
  }
  EXPECT_TRUE(requires(needed, "SELECT", "p_node"));
  EXPECT_FALSE(requires(needed, "UPDATE", "p_node"));
  EXPECT_FALSE(requires(needed, "SELECT", "p_system"));
  state.statusIndexMissing = true;
  state.hasSystemTable = true;
  needed = requiredPrivileges(state);
  EXPECT_TRUE(requires(needed, "ALTER", "p_hosting_task"));
  EXPECT_TRUE(requires(needed, "SELECT", "p_system"));
}

TEST(RequiredPrivileges, TheFirstMissingOneIsNamedWithItsTable) {
  SchemaState state;
  state.skynetVersion = state.currentVersion = 2;
  const Grants grants("'u'@'h'",
                      {{"SELECT", "aegir", ""}, {"INSERT", "aegir", ""}, {"UPDATE", "aegir", ""},
                       {"CREATE", "aegir", "skynet_schema"}, {"DELETE", "aegir", "hosting_task"}},
                      {});
  const auto missing = firstMissing(grants, "aegir", requiredPrivileges(state));
  ASSERT_TRUE(missing.has_value());
  EXPECT_EQ(describe(*missing, "aegir"),
            "the DELETE privilege on `aegir`.`hosting_task_log` (to log why a task failed)");
}

}  // namespace
}  // namespace skynet::app
