// SPDX-License-Identifier: Apache-2.0
/// \file
/// A libpq connection for the store and the leader's lock session: connects
/// with extra parameters, caches prepared statements per connection, maps
/// SQLSTATEs to Errc and keeps the password out of every message.

#pragma once

#include <memory>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include <autoscale/result.h>

#include <libpq-fe.h>

namespace autoscale::pg {

struct ResultDeleter {
    void operator()(PGresult* r) const { PQclear(r); }
};
/// A query's result, cleared when it goes out of scope.
using PgResult = std::unique_ptr<PGresult, ResultDeleter>;

/// One libpq connection. Not thread-safe: its owner serializes calls.
class Connection {
public:
    /// `before` are connection parameters the DSN may override (defaults);
    /// `after` override the DSN (what the session needs to be correct).
    Connection(std::string dsn, std::vector<std::pair<std::string, std::string>> before,
               std::vector<std::pair<std::string, std::string>> after);
    ~Connection();
    Connection(const Connection&) = delete;
    Connection& operator=(const Connection&) = delete;

    /// Opens a new session (closing any earlier one). Errc::Unavailable when
    /// the server cannot be reached or refuses, the message without secrets.
    Result<void> connect();
    /// True while the session is up as far as libpq knows.
    [[nodiscard]] bool connected() const;
    /// Closes the session (a session-level advisory lock goes with it).
    void close();

    /// Runs `sql` as a prepared statement (prepared once per session) with
    /// text parameters. Errors: Errc::Unavailable when the connection broke
    /// (it is closed then), or by SQLSTATE (serialization failures and
    /// deadlocks Unavailable, others Io).
    Result<PgResult> query(const std::string& sql, const std::vector<std::string>& params,
                           const std::string& what);
    /// Runs a parameterless command (BEGIN, COMMIT, SET ...).
    Result<void> command(const char* sql, const std::string& what);

    /// The DSN, redacted, for messages.
    [[nodiscard]] const std::string& label() const { return label_; }
    /// The backend's pid, 0 when not connected.
    [[nodiscard]] int backendPid() const;

private:
    Error failure(const PGresult* result, const std::string& what);
    [[nodiscard]] std::string scrub(std::string message) const;

    std::string dsn_;
    std::string label_;
    std::string password_;
    std::vector<std::pair<std::string, std::string>> before_;
    std::vector<std::pair<std::string, std::string>> after_;
    PGconn* conn_ = nullptr;
    std::unordered_map<std::string, std::string> prepared_;
};

/// The text of a result cell ("" for NULL).
std::string text(const PGresult* result, int row, int column);
/// A bigint cell; 0 when NULL or not a number.
std::int64_t integer(const PGresult* result, int row, int column);

} // namespace autoscale::pg
