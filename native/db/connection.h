// A connection to the hostmaster site's MariaDB/MySQL database through the libmysqlclient API.
//
// Contract:
// - A statement sent alone is prepared, its parameters bound. Statements that share a round trip
//   (readAll(), and executeLater() with whatever goes next) are sent as one multi-statement text
//   query: each ? becomes its value as an SQL literal (integers in decimal, doubles in shortest
//   round-trip notation, strings quoted and escaped by mysql_real_escape_string for the
//   connection's utf8mb4, NULL), never text pasted by hand. A ? inside a quoted literal of the SQL
//   is left alone.
// - Table names are written as {name} and get the configured Drupal table prefix, as Drupal's
//   own db_query() does, so no other file needs to know the prefix.
// - Autocommit is on: each poll sees the newest committed rows (a long REPEATABLE READ
//   transaction would hide new tasks). Use Transaction for multi-statement writes.
// - Failures throw db::Error with the server's message and the statement's first words; a lost
//   connection is reported by Error::connectionLost() so callers can reconnect.
// - Not thread-safe: one connection per thread.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <variant>
#include <vector>

struct st_mysql;
struct st_mysql_stmt;

namespace skynet::db {

struct ConnectionParams {
  std::string host = "localhost";
  unsigned port = 3306;
  std::string socket;  // wins over host/port when set
  std::string database;
  std::string user;
  std::string password;
  std::string prefix;  // Drupal table prefix
  unsigned connectTimeoutSeconds = 5;
  // Short, so a stuck query (a frozen or overloaded server) is noticed and reported as a lost
  // connection within seconds instead of holding the caller for a minute; supervision of the
  // children runs apart from the database, so no timeout here is ever a task's deadline.
  unsigned readTimeoutSeconds = 10;
  unsigned writeTimeoutSeconds = 10;
};

class Error : public std::runtime_error {
 public:
  Error(const std::string& message, unsigned code) : std::runtime_error(message), code_(code) {}
  unsigned code() const { return code_; }
  // The server went away or could not be reached: reconnecting may help.
  bool connectionLost() const;
  // The server refused the user name or password.
  bool accessDenied() const;
  // The statement lost a lock conflict (a deadlock) and its transaction was rolled back: it may
  // be run again.
  bool deadlock() const;

 private:
  unsigned code_;
};

using Value = std::variant<std::nullptr_t, std::int64_t, double, std::string>;

// One result row; columns are read as text and converted on demand.
class Row {
 public:
  explicit Row(std::vector<std::optional<std::string>> columns) : columns_(std::move(columns)) {}
  bool isNull(std::size_t i) const { return !columns_.at(i).has_value(); }
  std::string text(std::size_t i, const std::string& ifNull = "") const;
  std::int64_t integer(std::size_t i, std::int64_t ifNull = 0) const;
  double real(std::size_t i, double ifNull = 0) const;
  std::size_t size() const { return columns_.size(); }

 private:
  std::vector<std::optional<std::string>> columns_;
};

class Statement;

// Closes a MYSQL handle (mysql_close), so a handle is released on every path.
struct HandleCloser {
  void operator()(st_mysql* handle) const;
};

class Connection {
 public:
  // Connects and sets the session up (strict SQL mode; GROUP_CONCAT results of up to
  // kGroupConcatAtLeast bytes), or throws Error (never with the password in the message); a
  // failure after connecting closes the connection before throwing.
  static constexpr std::int64_t kGroupConcatAtLeast = 1 << 20;
  explicit Connection(const ConnectionParams& params);
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  std::vector<Row> query(const std::string& sql, const std::vector<Value>& params = {});
  std::optional<Row> queryOne(const std::string& sql, const std::vector<Value>& params = {});
  // Returns the number of affected rows.
  std::uint64_t execute(const std::string& sql, const std::vector<Value>& params = {});

  // Inside a Transaction: a write whose affected-row count and insert id nobody reads. It is not
  // sent now but with the transaction's next round trip, in front of the next statement (which
  // then sees it) or of the COMMIT: a transaction whose writes are all deferred is one round trip.
  // Its error (a duplicate key, a rejected value) throws from that later call, and the
  // transaction rolls back as usual; a transaction left without commit() drops what it deferred.
  // Outside a transaction it runs at once, as execute() does. A count of ? different from the
  // count of parameters throws std::invalid_argument here.
  // Sizes: a write whose text (values included) is over kDeferOneAtMost is not deferred but sent
  // at once (prepared, behind the writes deferred before it): beside its values a round trip is
  // small. Writes deferred before one that would bring their text over kDeferredAtMost go first.
  // So a query stays far below any server's max_allowed_packet (4 MiB in MySQL 5.7, 16 MiB in
  // MariaDB), also when a batch records many runs with long log tails.
  static constexpr std::size_t kDeferOneAtMost = 256 * 1024;
  static constexpr std::size_t kDeferredAtMost = 1024 * 1024;
  void executeLater(const std::string& sql, const std::vector<Value>& params = {});

  // A statement with its parameters, for the calls that send several in one round trip.
  struct Sql {
    std::string sql;
    std::vector<Value> params;
  };

  // Several reads in one round trip (a multi-statement query in the text protocol), behind the
  // START TRANSACTION of a Transaction that has sent nothing yet and the writes deferred so far:
  // where the first thing a transaction does is read, that is one round trip instead of one per
  // statement and one for the START. Returns each read's rows, in order. A count of ? different
  // from the count of parameters throws std::invalid_argument before anything is sent. A failing
  // statement throws Error naming it; the ones after it are not run, and the transaction, if its
  // START went out, is open and rolls back as usual.
  std::vector<std::vector<Row>> readAll(const std::vector<Sql>& reads);
  // Several writes in one round trip, as readAll() sends reads; returns what each did.
  struct Written {
    std::uint64_t affected = 0;
    std::uint64_t insertId = 0;
  };
  std::vector<Written> executeAll(const std::vector<Sql>& writes);
  // Of the last execute() or executeAll() (deferred writes leave it alone).
  std::uint64_t lastInsertId() const;

  // "{hosting_task}" -> "`<prefix>hosting_task`".
  std::string expandTables(const std::string& sql) const;
  const std::string& prefix() const { return params_.prefix; }
  const std::string& database() const { return params_.database; }

 private:
  friend class Transaction;
  Statement& prepare(const std::string& sql);
  // Sends the START TRANSACTION a Transaction deferred, if it is still pending.
  void startIfPending();
  // A statement as text ready to send: its tables expanded and each ? written as its parameter's
  // literal; `described` names it in an error (its first words, no values).
  struct Text {
    std::string text;
    std::string described;
  };
  Text asText(const std::string& sql, const std::vector<Value>& params) const;
  // What one statement of a multi-statement query returned.
  struct TextResult {
    std::vector<Row> rows;  // its result set, if it had one
    Written written;        // else what it changed
  };
  std::vector<TextResult> sendAll(const std::vector<Sql>& statements);
  // Sends the pending START, the deferred writes and then `statements` as one query, and returns
  // the results of `statements`.
  std::vector<TextResult> sendText(const std::vector<Text>& statements);
  std::vector<Text> deferred_;
  // Sends the writes deferred so far, alone.
  void sendDeferred();
  int transactionDepth_ = 0;
  bool rollbackOnly_ = false;
  // A Transaction began but nothing was sent: its START goes out with the first statement (and
  // with readAll()'s reads in the same round trip); a commit or rollback before then sends nothing.
  bool startPending_ = false;

  ConnectionParams params_;
  std::unique_ptr<st_mysql, HandleCloser> handle_;
  std::uint64_t lastInsertId_ = 0;
  // Prepared once per connection, reused on every poll. Declared after handle_, so they are
  // closed before their connection, also when the constructor throws.
  std::map<std::string, std::unique_ptr<Statement>> statements_;
};

// Rolls back unless commit() was called. Transactions nest: an inner one (a function that needs
// its statements together, called inside a caller's larger unit) joins the outer one, whose
// commit() commits everything; an inner one left by an exception makes the outer commit throw
// (one left by a plain return, having written nothing it needed, does not). The START
// TRANSACTION is sent just before the transaction's first statement (InnoDB takes its snapshot
// and its locks only from there anyway), so that readAll() can carry it; commit() sends the
// writes deferred by executeLater() with the COMMIT.
class Transaction {
 public:
  explicit Transaction(Connection& connection);
  ~Transaction();
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;
  void commit();

 private:
  Connection& connection_;
  bool outer_ = false;
  bool done_ = false;
  int exceptions_ = 0;  // std::uncaught_exceptions() at construction
};

}  // namespace skynet::db
