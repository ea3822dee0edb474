#include "db/connection.h"

#include <exception>

#include <mysql.h>
#include <errmsg.h>
#include <mysqld_error.h>

#include <charconv>
#include <cmath>
#include <cstring>
#include <regex>

namespace skynet::db {

namespace {

// The statement's first words, so an error names the query without dumping parameters.
std::string describe(const std::string& sql) {
  std::string flat;
  for (char c : sql) {
    if (c == '\n' || c == '\t') c = ' ';
    if (c == ' ' && !flat.empty() && flat.back() == ' ') continue;
    flat += c;
  }
  return flat.size() > 80 ? flat.substr(0, 77) + "..." : flat;
}

}  // namespace

bool Error::connectionLost() const {
  return code_ == CR_SERVER_GONE_ERROR || code_ == CR_SERVER_LOST || code_ == CR_CONNECTION_ERROR ||
         code_ == CR_CONN_HOST_ERROR || code_ == CR_SERVER_LOST_EXTENDED || code_ == ER_SERVER_SHUTDOWN ||
         code_ == ER_CONNECTION_KILLED || code_ == CR_UNKNOWN_HOST || code_ == CR_COMMANDS_OUT_OF_SYNC ||
         code_ == ER_QUERY_INTERRUPTED;
}

bool Error::accessDenied() const {
  return code_ == ER_ACCESS_DENIED_ERROR || code_ == ER_DBACCESS_DENIED_ERROR;
}

bool Error::deadlock() const { return code_ == ER_LOCK_DEADLOCK; }

std::string Row::text(std::size_t i, const std::string& ifNull) const {
  const auto& column = columns_.at(i);
  return column ? *column : ifNull;
}

std::int64_t Row::integer(std::size_t i, std::int64_t ifNull) const {
  const auto& column = columns_.at(i);
  if (!column || column->empty()) return ifNull;
  return std::stoll(*column);
}

double Row::real(std::size_t i, double ifNull) const {
  const auto& column = columns_.at(i);
  if (!column || column->empty()) return ifNull;
  return std::stod(*column);
}

// A prepared statement owned by its Connection (RAII over MYSQL_STMT*).
class Statement {
 public:
  Statement(st_mysql* mysql, const std::string& sql) : sql_(sql), stmt_(mysql_stmt_init(mysql)) {
    if (!stmt_) throw Error("out of memory preparing: " + describe(sql), CR_OUT_OF_MEMORY);
    if (mysql_stmt_prepare(stmt_, sql.data(), sql.size()) != 0) fail("preparing");
  }
  ~Statement() { mysql_stmt_close(stmt_); }
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;

  // Runs the statement; fills rows when it returns a result set. Returns affected rows.
  std::uint64_t run(const std::vector<Value>& params, std::vector<Row>* rows) {
    bindParams(params);
    if (mysql_stmt_execute(stmt_) != 0) fail("running");
    MYSQL_RES* meta = mysql_stmt_result_metadata(stmt_);
    if (!meta) return mysql_stmt_affected_rows(stmt_);
    const unsigned count = mysql_num_fields(meta);
    mysql_free_result(meta);
    fetchAll(count, rows);
    return 0;
  }

  std::uint64_t insertId() { return mysql_stmt_insert_id(stmt_); }

 private:
  [[noreturn]] void fail(const char* doing) {
    throw Error(std::string("database error ") + doing + " \"" + describe(sql_) + "\": " +
                    mysql_stmt_error(stmt_),
                mysql_stmt_errno(stmt_));
  }

  void bindParams(const std::vector<Value>& params) {
    if (params.size() != mysql_stmt_param_count(stmt_)) {
      throw Error("statement \"" + describe(sql_) + "\" expects " +
                      std::to_string(mysql_stmt_param_count(stmt_)) + " parameters, got " +
                      std::to_string(params.size()),
                  0);
    }
    if (params.empty()) return;
    binds_.assign(params.size(), MYSQL_BIND{});
    integers_.assign(params.size(), 0);
    reals_.assign(params.size(), 0);
    lengths_.assign(params.size(), 0);
    for (std::size_t i = 0; i < params.size(); ++i) {
      MYSQL_BIND& bind = binds_[i];
      const Value& value = params[i];
      if (std::holds_alternative<std::nullptr_t>(value)) {
        bind.buffer_type = MYSQL_TYPE_NULL;
      } else if (const auto* integer = std::get_if<std::int64_t>(&value)) {
        integers_[i] = *integer;
        bind.buffer_type = MYSQL_TYPE_LONGLONG;
        bind.buffer = &integers_[i];
      } else if (const auto* real = std::get_if<double>(&value)) {
        reals_[i] = *real;
        bind.buffer_type = MYSQL_TYPE_DOUBLE;
        bind.buffer = &reals_[i];
      } else {
        const std::string& text = std::get<std::string>(value);
        lengths_[i] = text.size();
        bind.buffer_type = MYSQL_TYPE_STRING;
        bind.buffer = const_cast<char*>(text.data());
        bind.buffer_length = text.size();
        bind.length = &lengths_[i];
      }
    }
    if (mysql_stmt_bind_param(stmt_, binds_.data()) != 0) fail("binding parameters of");
  }

  void fetchAll(unsigned count, std::vector<Row>* rows) {
    constexpr unsigned long kInitial = 256;
    std::vector<MYSQL_BIND> binds(count, MYSQL_BIND{});
    std::vector<std::vector<char>> buffers(count, std::vector<char>(kInitial));
    std::vector<unsigned long> lengths(count, 0);
    std::vector<my_bool> nulls(count, 0);
    std::vector<my_bool> errors(count, 0);
    for (unsigned i = 0; i < count; ++i) {
      binds[i].buffer_type = MYSQL_TYPE_STRING;
      binds[i].buffer = buffers[i].data();
      binds[i].buffer_length = kInitial;
      binds[i].length = &lengths[i];
      binds[i].is_null = &nulls[i];
      binds[i].error = &errors[i];
    }
    if (mysql_stmt_bind_result(stmt_, binds.data()) != 0) fail("binding the result of");
    for (;;) {
      const int status = mysql_stmt_fetch(stmt_);
      if (status == MYSQL_NO_DATA) break;
      if (status == 1) fail("fetching the result of");
      std::vector<std::optional<std::string>> columns(count);
      for (unsigned i = 0; i < count; ++i) {
        if (nulls[i]) continue;
        if (lengths[i] > kInitial) {
          // Truncated: fetch the whole column into a buffer of the right size.
          std::string whole(lengths[i], '\0');
          MYSQL_BIND column{};
          column.buffer_type = MYSQL_TYPE_STRING;
          column.buffer = whole.data();
          column.buffer_length = lengths[i];
          if (mysql_stmt_fetch_column(stmt_, &column, i, 0) != 0) fail("fetching a column of");
          columns[i] = std::move(whole);
        } else {
          columns[i] = std::string(buffers[i].data(), lengths[i]);
        }
      }
      if (rows) rows->emplace_back(std::move(columns));
    }
    mysql_stmt_free_result(stmt_);
  }

  std::string sql_;
  MYSQL_STMT* stmt_;
  std::vector<MYSQL_BIND> binds_;
  std::vector<long long> integers_;
  std::vector<double> reals_;
  std::vector<unsigned long> lengths_;
};

void HandleCloser::operator()(st_mysql* handle) const { mysql_close(handle); }

Connection::Connection(const ConnectionParams& params) : params_(params) {
  if (!std::regex_match(params.prefix, std::regex("[A-Za-z0-9_]*"))) {
    throw Error("the table prefix may hold only letters, digits and _", 0);
  }
  handle_.reset(mysql_init(nullptr));
  if (!handle_) throw Error("out of memory creating a database connection", CR_OUT_OF_MEMORY);
  MYSQL* mysql = handle_.get();
  mysql_options(mysql, MYSQL_OPT_CONNECT_TIMEOUT, &params.connectTimeoutSeconds);
  mysql_options(mysql, MYSQL_OPT_READ_TIMEOUT, &params.readTimeoutSeconds);
  mysql_options(mysql, MYSQL_OPT_WRITE_TIMEOUT, &params.writeTimeoutSeconds);
  mysql_options(mysql, MYSQL_SET_CHARSET_NAME, "utf8mb4");
  const bool viaSocket = !params.socket.empty();
  const std::string host = viaSocket ? "localhost" : params.host;
  const std::string who = "database '" + params.database + "' as '" + params.user + "' at " +
                          (viaSocket ? "socket " + params.socket : params.host + ":" + std::to_string(params.port));
  if (!mysql_real_connect(mysql, host.c_str(), params.user.c_str(), params.password.c_str(), params.database.c_str(),
                          viaSocket ? 0 : params.port, viaSocket ? params.socket.c_str() : nullptr,
                          CLIENT_MULTI_STATEMENTS)) {
    throw Error("cannot connect to " + who + ": " + mysql_error(mysql), mysql_errno(mysql));
  }
  try {
    // MySQL's default group_concat_max_len is 1,024 bytes: a longer list would be cut short.
    execute("SET SESSION sql_mode = 'STRICT_ALL_TABLES,NO_ENGINE_SUBSTITUTION', "
            "SESSION group_concat_max_len = GREATEST(@@SESSION.group_concat_max_len, ?)",
            {kGroupConcatAtLeast});
  } catch (const Error& error) {
    // The members close the statements and the handle as the exception leaves.
    throw Error("cannot set up the connection to " + who + ": " + error.what(), error.code());
  }
}

Connection::~Connection() = default;

std::string Connection::expandTables(const std::string& sql) const {
  std::string out;
  out.reserve(sql.size() + 32);
  for (std::size_t i = 0; i < sql.size(); ++i) {
    if (sql[i] == '{') {
      const std::size_t end = sql.find('}', i);
      if (end != std::string::npos) {
        out += '`' + params_.prefix + sql.substr(i + 1, end - i - 1) + '`';
        i = end;
        continue;
      }
    }
    out += sql[i];
  }
  return out;
}

Statement& Connection::prepare(const std::string& sql) {
  startIfPending();
  auto found = statements_.find(sql);
  if (found != statements_.end()) return *found->second;
  auto statement = std::make_unique<Statement>(handle_.get(), expandTables(sql));
  return *statements_.emplace(sql, std::move(statement)).first->second;
}

std::vector<Row> Connection::query(const std::string& sql, const std::vector<Value>& params) {
  if (!deferred_.empty()) return std::move(sendAll({{sql, params}}).front().rows);
  std::vector<Row> rows;
  prepare(sql).run(params, &rows);
  return rows;
}

std::optional<Row> Connection::queryOne(const std::string& sql, const std::vector<Value>& params) {
  auto rows = query(sql, params);
  if (rows.empty()) return std::nullopt;
  return std::move(rows.front());
}

std::uint64_t Connection::execute(const std::string& sql, const std::vector<Value>& params) {
  if (!deferred_.empty()) {
    const Written written = sendAll({{sql, params}}).front().written;
    lastInsertId_ = written.insertId;
    return written.affected;
  }
  Statement& statement = prepare(sql);
  const std::uint64_t affected = statement.run(params, nullptr);
  lastInsertId_ = statement.insertId();
  return affected;
}

void Connection::executeLater(const std::string& sql, const std::vector<Value>& params) {
  if (transactionDepth_ == 0) {
    execute(sql, params);
    return;
  }
  Text write = asText(sql, params);
  if (write.text.size() > kDeferOneAtMost) {
    sendDeferred();
    execute(sql, params);
    return;
  }
  std::size_t deferredBytes = 0;
  for (const auto& deferred : deferred_) deferredBytes += deferred.text.size();
  if (deferredBytes + write.text.size() > kDeferredAtMost) sendDeferred();
  deferred_.push_back(std::move(write));
}

void Connection::sendDeferred() {
  if (!deferred_.empty()) sendText({});
}

std::uint64_t Connection::lastInsertId() const { return lastInsertId_; }

void Connection::startIfPending() {
  if (!startPending_) return;
  startPending_ = false;
  execute("START TRANSACTION");
}

namespace {

void appendLiteral(std::string& out, const Value& value, st_mysql* mysql, const std::string& sql) {
  if (std::holds_alternative<std::nullptr_t>(value)) {
    out += "NULL";
  } else if (const auto* integer = std::get_if<std::int64_t>(&value)) {
    out += std::to_string(*integer);
  } else if (const auto* real = std::get_if<double>(&value)) {
    if (!std::isfinite(*real)) throw std::invalid_argument("a value that is not a finite number, in \"" + describe(sql) + "\"");
    // Scientific, so the server reads a DOUBLE (a plain decimal would be a DECIMAL literal), and
    // the shortest digits that read back as the same double: what a bound DOUBLE would store.
    char digits[32];
    const auto written = std::to_chars(digits, digits + sizeof digits, *real, std::chars_format::scientific);
    out.append(digits, written.ptr);
  } else {
    const std::string& text = std::get<std::string>(value);
    std::string escaped(text.size() * 2 + 1, '\0');
    escaped.resize(mysql_real_escape_string(mysql, escaped.data(), text.data(), text.size()));
    out += '\'';
    out += escaped;
    out += '\'';
  }
}

}  // namespace

Connection::Text Connection::asText(const std::string& sql, const std::vector<Value>& params) const {
  // Tables first: a value holding {braces} must reach the server as it is.
  const std::string expanded = expandTables(sql);
  std::string out;
  out.reserve(expanded.size() + 16 * params.size());
  std::size_t next = 0;
  char quote = 0;  // inside a '...', "..." or `...` of the SQL itself
  for (std::size_t i = 0; i < expanded.size(); ++i) {
    const char c = expanded[i];
    if (quote) {
      out += c;
      if (c == '\\' && quote != '`' && i + 1 < expanded.size()) out += expanded[++i];
      else if (c == quote) quote = 0;  // a doubled quote closes and opens again: the same to us
      continue;
    }
    if (c == '\'' || c == '"' || c == '`') quote = c;
    if (c != '?') {
      out += c;
      continue;
    }
    if (next >= params.size()) throw std::invalid_argument("more ? than parameters in \"" + describe(sql) + "\"");
    appendLiteral(out, params[next++], handle_.get(), sql);
  }
  if (next != params.size()) throw std::invalid_argument("fewer ? than parameters in \"" + describe(sql) + "\"");
  return {std::move(out), describe(sql)};
}

std::vector<Connection::TextResult> Connection::sendText(const std::vector<Text>& statements) {
  std::string text;
  std::vector<std::string> names;
  const bool withStart = startPending_;
  if (withStart) {
    text = "START TRANSACTION";
    names.emplace_back("START TRANSACTION");
  }
  auto add = [&](const Text& statement) {
    if (!text.empty()) text += ";\n";
    text += statement.text;
    names.push_back(statement.described);
  };
  for (const auto& deferred : deferred_) add(deferred);
  for (const auto& statement : statements) add(statement);
  // Sent, whatever comes back: a failure leaves the transaction to roll back, taking them along.
  deferred_.clear();
  std::vector<TextResult> results;
  if (names.empty()) return results;
  const std::size_t firstWanted = names.size() - statements.size();
  MYSQL* mysql = handle_.get();
  if (mysql_real_query(mysql, text.data(), text.size()) != 0) {
    // The first statement failed, so nothing ran: a START that failed began nothing.
    throw Error("database error running \"" + names.front() + "\": " + mysql_error(mysql), mysql_errno(mysql));
  }
  startPending_ = false;
  for (std::size_t statement = 0;; ++statement) {
    TextResult result;
    MYSQL_RES* set = mysql_store_result(mysql);
    if (set) {
      const unsigned count = mysql_num_fields(set);
      while (MYSQL_ROW row = mysql_fetch_row(set)) {
        const unsigned long* lengths = mysql_fetch_lengths(set);
        std::vector<std::optional<std::string>> columns(count);
        for (unsigned i = 0; i < count; ++i) {
          if (row[i]) columns[i] = std::string(row[i], lengths[i]);
        }
        result.rows.emplace_back(std::move(columns));
      }
      mysql_free_result(set);
    } else if (mysql_field_count(mysql) != 0) {
      throw Error("database error reading the result of \"" + names.at(statement) + "\": " + mysql_error(mysql),
                  mysql_errno(mysql));
    } else {
      result.written = {mysql_affected_rows(mysql), mysql_insert_id(mysql)};
    }
    if (statement >= firstWanted) results.push_back(std::move(result));
    const int more = mysql_next_result(mysql);
    if (more == -1) break;
    if (more > 0) {
      throw Error("database error running \"" + names.at(statement + 1) + "\": " + mysql_error(mysql),
                  mysql_errno(mysql));
    }
  }
  if (results.size() != statements.size()) {
    throw Error(std::to_string(names.size()) + " statements returned " +
                    std::to_string(results.size() + firstWanted) + " results, starting with \"" + names.front() + "\"",
                0);
  }
  return results;
}

std::vector<Connection::TextResult> Connection::sendAll(const std::vector<Sql>& statements) {
  if (statements.empty()) return {};
  std::vector<Text> texts;
  for (const auto& statement : statements) texts.push_back(asText(statement.sql, statement.params));
  return sendText(texts);
}

std::vector<std::vector<Row>> Connection::readAll(const std::vector<Sql>& reads) {
  std::vector<std::vector<Row>> rows;
  for (auto& result : sendAll(reads)) rows.push_back(std::move(result.rows));
  return rows;
}

std::vector<Connection::Written> Connection::executeAll(const std::vector<Sql>& writes) {
  std::vector<Written> written;
  for (const auto& result : sendAll(writes)) written.push_back(result.written);
  if (!written.empty()) lastInsertId_ = written.back().insertId;
  return written;
}

Transaction::Transaction(Connection& connection)
    : connection_(connection), outer_(connection.transactionDepth_ == 0), exceptions_(std::uncaught_exceptions()) {
  if (outer_) {
    connection_.startPending_ = true;
    connection_.rollbackOnly_ = false;
  }
  ++connection_.transactionDepth_;
}

Transaction::~Transaction() {
  if (done_) return;
  --connection_.transactionDepth_;
  if (!outer_) {
    if (std::uncaught_exceptions() > exceptions_) connection_.rollbackOnly_ = true;
    return;
  }
  connection_.deferred_.clear();
  if (connection_.startPending_) {
    connection_.startPending_ = false;  // nothing was sent: nothing to roll back
    return;
  }
  try {
    connection_.execute("ROLLBACK");
  } catch (const Error&) {
    // The connection is gone; the server rolls back by itself.
  }
}

void Transaction::commit() {
  if (outer_) {
    if (connection_.rollbackOnly_) throw Error("a part of this transaction failed; nothing was committed", 0);
    if (!connection_.deferred_.empty()) connection_.sendText({{"COMMIT", "COMMIT"}});
    else if (connection_.startPending_) connection_.startPending_ = false;  // nothing was sent
    else connection_.execute("COMMIT");
  }
  done_ = true;
  --connection_.transactionDepth_;
}

}  // namespace skynet::db
