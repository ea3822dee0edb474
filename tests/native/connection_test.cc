#include "db/connection.h"

#include <gtest/gtest.h>

#include <stdexcept>
#include <string>

#include "support/sandbox.h"

namespace skynet::db {
namespace {

using testing::Sandbox;

class ConnectionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    params_ = Sandbox::instance().createDatabase(std::string("c_") + std::string(info->name()).substr(0, 58));
    db_ = std::make_unique<Connection>(params_);
    db_->execute("CREATE TABLE item (id INT NOT NULL PRIMARY KEY, label VARCHAR(16) NULL) ENGINE=InnoDB");
    db_->execute("INSERT INTO item (id, label) VALUES (1, 'one'), (2, NULL), (3, 'three')");
  }

  // The session's count of a statement kind (Com_begin, Com_commit, ...), as the server keeps it.
  std::int64_t sessionCount(Connection& connection, const std::string& counter) {
    return connection.queryOne("SELECT VARIABLE_VALUE FROM information_schema.SESSION_STATUS WHERE VARIABLE_NAME = ?",
                               {counter})
        ->integer(0);
  }

  // True when another session can lock item `id` at once.
  bool otherCanLock(std::int64_t id) {
    Connection other(params_);
    try {
      other.query("SELECT id FROM item WHERE id = ? FOR UPDATE NOWAIT", {id});
      return true;
    } catch (const Error&) {
      return false;
    }
  }

  ConnectionParams params_;
  std::unique_ptr<Connection> db_;
};

TEST_F(ConnectionTest, ReadAllReturnsEachReadsRowsInOrder) {
  const auto results = db_->readAll({{"SELECT id, label FROM item WHERE id IN (?, ?) ORDER BY id", {std::int64_t{2}, std::int64_t{3}}},
                                     {"SELECT id FROM item WHERE id > ?", {std::int64_t{99}}},
                                     {"SELECT COUNT(*), 'a;b' FROM item", {}}});
  ASSERT_EQ(results.size(), 3u);
  ASSERT_EQ(results[0].size(), 2u);
  EXPECT_EQ(results[0][0].integer(0), 2);
  EXPECT_TRUE(results[0][0].isNull(1));
  EXPECT_EQ(results[0][1].text(1), "three");
  EXPECT_TRUE(results[1].empty());
  ASSERT_EQ(results[2].size(), 1u);
  EXPECT_EQ(results[2][0].integer(0), 3);
  EXPECT_EQ(results[2][0].text(1), "a;b");
  EXPECT_TRUE(db_->readAll({}).empty());
  // Outside a transaction each read commits on its own: no lock stays behind.
  db_->readAll({{"SELECT id FROM item WHERE id = ? FOR UPDATE", {std::int64_t{1}}}});
  EXPECT_TRUE(otherCanLock(1));
}

TEST_F(ConnectionTest, ReadAllCarriesTheStartOfATransactionThatSentNothingYet) {
  const auto begins = sessionCount(*db_, "Com_begin");
  {
    Transaction transaction(*db_);
    const auto results = db_->readAll({{"SELECT label FROM item WHERE id = ? FOR UPDATE", {std::int64_t{1}}},
                                       {"SELECT COUNT(*) FROM item", {}}});
    EXPECT_EQ(results.at(0).at(0).text(0), "one");
    // The lock lasts until the transaction ends: the reads ran inside it.
    EXPECT_FALSE(otherCanLock(1));
    EXPECT_TRUE(otherCanLock(3));
    db_->execute("UPDATE item SET label = 'uno' WHERE id = ?", {std::int64_t{1}});
    transaction.commit();
  }
  EXPECT_TRUE(otherCanLock(1));
  EXPECT_EQ(db_->queryOne("SELECT label FROM item WHERE id = 1")->text(0), "uno");
  EXPECT_EQ(sessionCount(*db_, "Com_begin") - begins, 1);

  // A rolled-back one takes its write with it.
  {
    Transaction transaction(*db_);
    db_->readAll({{"SELECT id FROM item WHERE id = ? FOR UPDATE", {std::int64_t{1}}}});
    db_->execute("UPDATE item SET label = 'eins' WHERE id = ?", {std::int64_t{1}});
  }
  EXPECT_TRUE(otherCanLock(1));
  EXPECT_EQ(db_->queryOne("SELECT label FROM item WHERE id = 1")->text(0), "uno");

  // Once a statement has started the transaction, the reads join it without another START.
  {
    const auto before = sessionCount(*db_, "Com_begin");
    Transaction transaction(*db_);
    db_->execute("UPDATE item SET label = 'un' WHERE id = ?", {std::int64_t{1}});
    db_->readAll({{"SELECT id FROM item WHERE id = ? FOR UPDATE", {std::int64_t{3}}}});
    EXPECT_FALSE(otherCanLock(3));
    transaction.commit();
    EXPECT_EQ(sessionCount(*db_, "Com_begin") - before, 1);
  }
}

TEST_F(ConnectionTest, ATransactionThatSentNothingEndsWithoutAStatement) {
  const auto begins = sessionCount(*db_, "Com_begin");
  const auto commits = sessionCount(*db_, "Com_commit");
  const auto rollbacks = sessionCount(*db_, "Com_rollback");
  {
    Transaction transaction(*db_);
    transaction.commit();
  }
  { Transaction transaction(*db_); }
  EXPECT_EQ(sessionCount(*db_, "Com_begin"), begins);
  EXPECT_EQ(sessionCount(*db_, "Com_commit"), commits);
  EXPECT_EQ(sessionCount(*db_, "Com_rollback"), rollbacks);
  // And the connection is back in autocommit: a write is seen by others at once.
  db_->execute("INSERT INTO item (id, label) VALUES (4, 'four')");
  Connection other(params_);
  EXPECT_EQ(other.queryOne("SELECT COUNT(*) FROM item")->integer(0), 4);
}

TEST_F(ConnectionTest, ReadAllSplicesIntegersOnlyAndSendsNothingOtherwise) {
  const auto begins = sessionCount(*db_, "Com_begin");
  Transaction transaction(*db_);
  EXPECT_THROW(db_->readAll({{"SELECT id FROM item WHERE label = ?", {std::string("one' OR '1")}}}),
               std::invalid_argument);
  EXPECT_THROW(db_->readAll({{"SELECT id FROM item WHERE id = ?", {1.5}}}), std::invalid_argument);
  EXPECT_THROW(db_->readAll({{"SELECT id FROM item WHERE id = ?", {}}}), std::invalid_argument);
  EXPECT_THROW(db_->readAll({{"SELECT id FROM item", {std::int64_t{1}}}}), std::invalid_argument);
  transaction.commit();
  EXPECT_EQ(sessionCount(*db_, "Com_begin"), begins);  // the START never went out
}

TEST_F(ConnectionTest, AFailingReadThrowsNamesItselfAndLeavesTheTransactionToRollBack) {
  {
    Transaction transaction(*db_);
    try {
      db_->readAll({{"SELECT id FROM item WHERE id = ? FOR UPDATE", {std::int64_t{1}}},
                    {"SELECT nonesuch FROM item", {}},
                    {"SELECT id FROM item WHERE id = ? FOR UPDATE", {std::int64_t{3}}}});
      FAIL() << "a read of a missing column must throw";
    } catch (const Error& error) {
      EXPECT_NE(std::string(error.what()).find("SELECT nonesuch FROM item"), std::string::npos) << error.what();
      EXPECT_FALSE(error.connectionLost());
    }
    EXPECT_FALSE(otherCanLock(1));  // the first read ran, in the transaction
    EXPECT_TRUE(otherCanLock(3));   // the one after the failure did not
    EXPECT_EQ(db_->queryOne("SELECT COUNT(*) FROM item")->integer(0), 3);  // the connection still works
  }
  EXPECT_TRUE(otherCanLock(1));  // rolled back as the transaction was left

  // The first read failing, with the START in front of it.
  {
    Transaction transaction(*db_);
    EXPECT_THROW(db_->readAll({{"SELECT nonesuch FROM item", {}}}), Error);
    db_->execute("UPDATE item SET label = 'x' WHERE id = ?", {std::int64_t{3}});
  }
  EXPECT_EQ(db_->queryOne("SELECT label FROM item WHERE id = 3")->text(0), "three");
  EXPECT_TRUE(otherCanLock(3));
}

}  // namespace
}  // namespace skynet::db
