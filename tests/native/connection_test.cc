#include "db/connection.h"

#include <gtest/gtest.h>

#include <limits>
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

  // True when another session can lock row `id` of `table` at once.
  bool otherCanLock(std::int64_t id, const std::string& table = "item") {
    Connection other(params_);
    try {
      other.query("SELECT id FROM " + table + " WHERE id = ? FOR UPDATE NOWAIT", {id});
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

TEST_F(ConnectionTest, ValuesSentAsTextReadBackAsTheyWereBound) {
  db_->execute("CREATE TABLE kinds (id INT NOT NULL PRIMARY KEY, t MEDIUMTEXT NULL, d DOUBLE NULL, n BIGINT NULL) DEFAULT CHARSET=utf8mb4");
  const std::string awkward = std::string("it's a \\ \"quote\" ? {item} \xc3\xa9\xf0\x9f\x9a\x80 ") + '\0' + " nul\n;--";
  const std::vector<double> reals{0.1, 1765000000.123456, -1e-300, 1.7976931348623157e308, 0.0, 5e-324};
  {
    Transaction transaction(*db_);
    db_->executeLater("INSERT INTO kinds (id, t, d, n) VALUES (?, ?, ?, ?)",
                      {std::int64_t{1}, awkward, reals[0], std::numeric_limits<std::int64_t>::min()});
    db_->executeLater("INSERT INTO kinds (id, t, d, n) VALUES (?, ?, ?, ?)",
                      {std::int64_t{2}, nullptr, nullptr, std::numeric_limits<std::int64_t>::max()});
    for (std::size_t i = 1; i < reals.size(); ++i) {
      db_->executeLater("INSERT INTO kinds (id, t, d) VALUES (?, '?', ?)", {std::int64_t(10 + i), reals[i]});
    }
    transaction.commit();
  }
  // Read back bound, through a prepared statement.
  EXPECT_EQ(db_->queryOne("SELECT t FROM kinds WHERE id = ?", {std::int64_t{1}})->text(0), awkward);
  EXPECT_EQ(db_->queryOne("SELECT n FROM kinds WHERE id = 1")->integer(0), std::numeric_limits<std::int64_t>::min());
  const auto nulls = db_->queryOne("SELECT t, d, n FROM kinds WHERE id = 2");
  EXPECT_TRUE(nulls->isNull(0));
  EXPECT_TRUE(nulls->isNull(1));
  EXPECT_EQ(nulls->integer(2), std::numeric_limits<std::int64_t>::max());
  for (std::size_t i = 0; i < reals.size(); ++i) {
    // Equal as doubles: the row holds exactly the double given (compared on the server).
    EXPECT_EQ(db_->queryOne("SELECT COUNT(*) FROM kinds WHERE d = ?", {reals[i]})->integer(0), 1) << reals[i];
  }
  EXPECT_EQ(db_->queryOne("SELECT COUNT(*) FROM kinds WHERE t = '?'")->integer(0), 5);  // a ? in a literal stays
  // And found by value through a read sent as text.
  const auto found = db_->readAll({{"SELECT id FROM kinds WHERE t = ? AND d = ?", {awkward, reals[0]}}});
  ASSERT_EQ(found.at(0).size(), 1u);
  EXPECT_EQ(found[0][0].integer(0), 1);
}

TEST_F(ConnectionTest, ValuesThatCannotBeWrittenThrowBeforeAnythingIsSent) {
  const auto begins = sessionCount(*db_, "Com_begin");
  {
    Transaction transaction(*db_);
    EXPECT_THROW(db_->readAll({{"SELECT id FROM item WHERE id = ?", {std::numeric_limits<double>::quiet_NaN()}}}),
                 std::invalid_argument);
    EXPECT_THROW(db_->executeLater("UPDATE item SET label = 'x' WHERE id = ?", {std::numeric_limits<double>::infinity()}),
                 std::invalid_argument);
    EXPECT_THROW(db_->readAll({{"SELECT id FROM item WHERE id = ?", {}}}), std::invalid_argument);
    EXPECT_THROW(db_->readAll({{"SELECT id FROM item", {std::int64_t{1}}}}), std::invalid_argument);
    EXPECT_THROW(db_->executeLater("UPDATE item SET label = ? WHERE id = ?", {std::string("x")}), std::invalid_argument);
    transaction.commit();
  }
  EXPECT_EQ(sessionCount(*db_, "Com_begin"), begins);  // the START never went out
  EXPECT_EQ(db_->queryOne("SELECT COUNT(*) FROM item WHERE label = 'x'")->integer(0), 0);
}

TEST_F(ConnectionTest, DeferredWritesGoWithTheNextStatementOrWithTheCommit) {
  const auto begins = sessionCount(*db_, "Com_begin");
  const auto commits = sessionCount(*db_, "Com_commit");
  {
    Transaction transaction(*db_);
    db_->executeLater("UPDATE item SET label = ? WHERE id = ?", {std::string("uno"), std::int64_t{1}});
    EXPECT_TRUE(otherCanLock(1));  // not sent: the row is not locked yet
    // The next statement goes behind it, and sees it.
    EXPECT_EQ(db_->queryOne("SELECT label FROM item WHERE id = ?", {std::int64_t{1}})->text(0), "uno");
    EXPECT_FALSE(otherCanLock(1));
    db_->executeLater("UPDATE item SET label = ? WHERE id = ?", {std::string("tres"), std::int64_t{3}});
    EXPECT_EQ(db_->execute("UPDATE item SET label = 'dos' WHERE id = 2 OR label = 'tres'"), 2u);
    db_->executeLater("INSERT INTO item (id, label) VALUES (?, ?)", {std::int64_t{4}, std::string("cuatro")});
    EXPECT_TRUE(otherCanLock(4));
    transaction.commit();
  }
  EXPECT_EQ(sessionCount(*db_, "Com_begin") - begins, 1);
  EXPECT_EQ(sessionCount(*db_, "Com_commit") - commits, 1);
  Connection other(params_);
  EXPECT_EQ(other.queryOne("SELECT GROUP_CONCAT(label ORDER BY id) FROM item")->text(0), "uno,dos,dos,cuatro");
  EXPECT_TRUE(otherCanLock(1));

  // A transaction of deferred writes alone: sent with its START and its COMMIT.
  {
    Transaction transaction(*db_);
    db_->executeLater("DELETE FROM item WHERE id = ?", {std::int64_t{4}});
    EXPECT_EQ(other.queryOne("SELECT COUNT(*) FROM item")->integer(0), 4);
    transaction.commit();
  }
  EXPECT_EQ(other.queryOne("SELECT COUNT(*) FROM item")->integer(0), 3);
  EXPECT_EQ(sessionCount(*db_, "Com_begin") - begins, 2);

  // Outside a transaction it runs at once.
  db_->executeLater("UPDATE item SET label = ? WHERE id = ?", {std::string("one"), std::int64_t{1}});
  EXPECT_EQ(other.queryOne("SELECT label FROM item WHERE id = 1")->text(0), "one");
}

TEST_F(ConnectionTest, ALargeWriteGoesAtOnceAndTheDeferredTextStaysBounded) {
  db_->execute("CREATE TABLE big (id INT NOT NULL PRIMARY KEY, t MEDIUMTEXT NOT NULL) ENGINE=InnoDB");
  db_->execute("INSERT INTO big (id, t) VALUES (1, ''), (2, ''), (3, ''), (4, ''), (5, ''), (6, '')");
  const std::string large(Connection::kDeferOneAtMost + 1, 'x');
  // Four of these fit in kDeferredAtMost with their SQL, a fifth does not.
  const std::string quarter(Connection::kDeferredAtMost / 4 - 100, 'y');
  const std::string update = "UPDATE big SET t = ? WHERE id = ?";
  {
    Transaction transaction(*db_);
    db_->executeLater(update, {std::string("small"), std::int64_t{6}});
    EXPECT_TRUE(otherCanLock(6, "big"));
    db_->executeLater(update, {large, std::int64_t{1}});
    EXPECT_FALSE(otherCanLock(1, "big")) << "a large write waits for nothing";
    EXPECT_FALSE(otherCanLock(6, "big")) << "what was deferred before it went first";
    for (std::int64_t id = 2; id <= 5; ++id) {
      db_->executeLater(update, {quarter, id});
      EXPECT_TRUE(otherCanLock(id, "big")) << id;
    }
    db_->executeLater(update, {std::string("last"), std::int64_t{3}});
    EXPECT_TRUE(otherCanLock(2, "big")) << "below the bound: still deferred";
    db_->executeLater(update, {quarter, std::int64_t{4}});
    EXPECT_FALSE(otherCanLock(2, "big")) << "the deferred text would have passed kDeferredAtMost: sent first";
    transaction.commit();
  }
  EXPECT_EQ(db_->queryOne("SELECT GROUP_CONCAT(LENGTH(t) ORDER BY id) FROM big")->text(0),
            std::to_string(large.size()) + "," + std::to_string(quarter.size()) + ",4," +
                std::to_string(quarter.size()) + "," + std::to_string(quarter.size()) + ",5");
}

TEST_F(ConnectionTest, ADeferredWriteThatFailsThrowsLaterAndItsTransactionRollsBack) {
  // Failing in front of the next statement: that statement does not run.
  {
    Transaction transaction(*db_);
    db_->execute("UPDATE item SET label = 'uno' WHERE id = 1");
    db_->executeLater("INSERT INTO item (id, label) VALUES (?, ?)", {std::int64_t{2}, std::string("again")});
    try {
      db_->execute("UPDATE item SET label = 'tres' WHERE id = 3");
      FAIL() << "a duplicate key must throw";
    } catch (const Error& error) {
      EXPECT_NE(std::string(error.what()).find("INSERT INTO item"), std::string::npos) << error.what();
      EXPECT_EQ(std::string(error.what()).find("again"), std::string::npos) << "no values in messages: " << error.what();
    }
  }
  EXPECT_EQ(db_->queryOne("SELECT GROUP_CONCAT(COALESCE(label, '-') ORDER BY id) FROM item")->text(0), "one,-,three");
  EXPECT_TRUE(otherCanLock(1));

  // Failing with the commit: nothing is committed, the transaction's start included.
  {
    Transaction transaction(*db_);
    db_->executeLater("UPDATE item SET label = ? WHERE id = ?", {std::string("uno"), std::int64_t{1}});
    db_->executeLater("UPDATE item SET label = ? WHERE id = ?", {std::string("far too long for the column"), std::int64_t{3}});
    EXPECT_THROW(transaction.commit(), Error);
  }
  EXPECT_EQ(db_->queryOne("SELECT GROUP_CONCAT(COALESCE(label, '-') ORDER BY id) FROM item")->text(0), "one,-,three");
  EXPECT_TRUE(otherCanLock(1));

  // Left without a commit: what was deferred is dropped, and not sent with the next transaction.
  {
    Transaction transaction(*db_);
    db_->executeLater("UPDATE item SET label = ? WHERE id = ?", {std::string("uno"), std::int64_t{1}});
  }
  {
    Transaction transaction(*db_);
    db_->execute("UPDATE item SET label = 'tres' WHERE id = 3");
    transaction.commit();
  }
  EXPECT_EQ(db_->queryOne("SELECT GROUP_CONCAT(COALESCE(label, '-') ORDER BY id) FROM item")->text(0), "one,-,tres");
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
