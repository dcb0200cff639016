// SPDX-License-Identifier: Apache-2.0
/// \file
/// pg::Connection and redactDsn(): libpq behind Result, without secrets in messages.

#include "pg_connection.h"

#include <cctype>
#include <charconv>
#include <cstring>

#include <autoscale/postgres_store.h>

namespace autoscale {

namespace {

bool isUri(std::string_view dsn) {
    return dsn.starts_with("postgresql://") || dsn.starts_with("postgres://");
}

std::string redactUri(std::string_view dsn) {
    std::string out(dsn);
    const auto schemeEnd = out.find("://") + 3;
    const auto authorityEnd = out.find_first_of("/?", schemeEnd);
    const auto at = out.rfind('@', authorityEnd == std::string::npos ? out.size() : authorityEnd);
    if (at != std::string::npos && at >= schemeEnd) {
        const auto colon = out.find(':', schemeEnd);
        if (colon != std::string::npos && colon < at)
            out.replace(colon + 1, at - colon - 1, "***");
    }
    const auto query = out.find('?');
    if (query == std::string::npos)
        return out;
    std::string result = out.substr(0, query + 1);
    std::string_view rest = std::string_view(out).substr(query + 1);
    bool first = true;
    while (!rest.empty() || first) {
        const auto amp = rest.find('&');
        const std::string_view pair = rest.substr(0, amp);
        if (!first)
            result += '&';
        first = false;
        const auto eq = pair.find('=');
        if (eq != std::string_view::npos && pair.substr(0, eq) == "password") {
            result += "password=***";
        } else {
            result += pair;
        }
        if (amp == std::string_view::npos)
            break;
        rest = rest.substr(amp + 1);
    }
    return result;
}

std::string redactKeyValue(std::string_view dsn) {
    std::string out;
    std::size_t i = 0;
    const auto n = dsn.size();
    while (i < n) {
        while (i < n && std::isspace(static_cast<unsigned char>(dsn[i])) != 0)
            out += dsn[i++];
        const std::size_t keyStart = i;
        while (i < n && dsn[i] != '=' && std::isspace(static_cast<unsigned char>(dsn[i])) == 0)
            ++i;
        const std::string_view key = dsn.substr(keyStart, i - keyStart);
        out += key;
        while (i < n && std::isspace(static_cast<unsigned char>(dsn[i])) != 0)
            out += dsn[i++];
        if (i >= n || dsn[i] != '=')
            continue;
        out += dsn[i++];
        while (i < n && std::isspace(static_cast<unsigned char>(dsn[i])) != 0)
            out += dsn[i++];
        const std::size_t valueStart = i;
        if (i < n && dsn[i] == '\'') {
            ++i;
            while (i < n && dsn[i] != '\'') {
                if (dsn[i] == '\\' && i + 1 < n)
                    ++i;
                ++i;
            }
            if (i < n)
                ++i;
        } else {
            while (i < n && std::isspace(static_cast<unsigned char>(dsn[i])) == 0) {
                if (dsn[i] == '\\' && i + 1 < n)
                    ++i;
                ++i;
            }
        }
        if (key == "password") {
            out += "***";
        } else {
            out += dsn.substr(valueStart, i - valueStart);
        }
    }
    return out;
}

} // namespace

std::string redactDsn(std::string_view dsn) {
    return isUri(dsn) ? redactUri(dsn) : redactKeyValue(dsn);
}

namespace pg {

namespace {

/// The password the DSN carries, decoded, for scrubbing messages; "" if none
/// or the DSN does not parse.
std::string passwordOf(const std::string& dsn) {
    char* error = nullptr;
    PQconninfoOption* options = PQconninfoParse(dsn.c_str(), &error);
    PQfreemem(error);
    if (options == nullptr)
        return {};
    std::string password;
    for (const PQconninfoOption* o = options; o->keyword != nullptr; ++o) {
        if (std::strcmp(o->keyword, "password") == 0 && o->val != nullptr)
            password = o->val;
    }
    PQconninfoFree(options);
    return password;
}

/// Errc for a SQLSTATE: connection trouble, serialization failures,
/// deadlocks and shutdowns are worth retrying; the rest is Io.
Errc errcOf(std::string_view state) {
    if (state.starts_with("08") || state == "40001" || state == "40P01" || state == "57P01" ||
        state == "57P02" || state == "57P03" || state == "55P03" || state == "57014")
        return Errc::Unavailable;
    return Errc::Io;
}

std::string trimmed(std::string text) {
    while (!text.empty() && (text.back() == '\n' || text.back() == ' '))
        text.pop_back();
    return text;
}

} // namespace

Connection::Connection(std::string dsn, std::vector<std::pair<std::string, std::string>> before,
                       std::vector<std::pair<std::string, std::string>> after)
    : dsn_(std::move(dsn))
    , label_(redactDsn(dsn_))
    , password_(passwordOf(dsn_))
    , before_(std::move(before))
    , after_(std::move(after)) {
}

Connection::~Connection() {
    close();
}

Result<void> Connection::connect() {
    close();
    {
        // libpq's parse errors may quote the part of the string they choke
        // on, the password included: report none of it.
        char* error = nullptr;
        PQconninfoOption* parsed = PQconninfoParse(dsn_.c_str(), &error);
        PQfreemem(error);
        if (parsed == nullptr) {
            return makeError(Errc::InvalidArgument,
                             "postgres " + label_ + ": the connection string does not parse");
        }
        PQconninfoFree(parsed);
    }
    std::vector<const char*> keys;
    std::vector<const char*> values;
    for (const auto& [k, v] : before_) {
        keys.push_back(k.c_str());
        values.push_back(v.c_str());
    }
    keys.push_back("dbname");
    values.push_back(dsn_.c_str());
    for (const auto& [k, v] : after_) {
        keys.push_back(k.c_str());
        values.push_back(v.c_str());
    }
    keys.push_back(nullptr);
    values.push_back(nullptr);
    conn_ = PQconnectdbParams(keys.data(), values.data(), 1);
    if (conn_ == nullptr)
        return makeError(Errc::Unavailable, "postgres " + label_ + ": out of memory");
    // Notices ("relation ... already exists, skipping") are not ours to print.
    PQsetNoticeProcessor(
            conn_, [](void* /*arg*/, const char* /*message*/) {}, nullptr);
    if (PQstatus(conn_) != CONNECTION_OK) {
        std::string message = scrub(trimmed(PQerrorMessage(conn_)));
        close();
        return makeError(Errc::Unavailable, "postgres " + label_ + ": cannot connect: " + message);
    }
    return {};
}

bool Connection::connected() const {
    return conn_ != nullptr && PQstatus(conn_) == CONNECTION_OK;
}

void Connection::close() {
    if (conn_ != nullptr)
        PQfinish(conn_);
    conn_ = nullptr;
    prepared_.clear();
}

int Connection::backendPid() const {
    return conn_ != nullptr ? PQbackendPID(conn_) : 0;
}

std::string Connection::scrub(std::string message) const {
    if (password_.empty())
        return message;
    for (auto at = message.find(password_); at != std::string::npos;
         at = message.find(password_, at + 3))
        message.replace(at, password_.size(), "***");
    return message;
}

Error Connection::failure(const PGresult* result, const std::string& what) {
    const char* state = result != nullptr ? PQresultErrorField(result, PG_DIAG_SQLSTATE) : nullptr;
    std::string message = conn_ != nullptr ? trimmed(PQerrorMessage(conn_)) : "not connected";
    message = scrub(std::move(message));
    const bool broken = conn_ == nullptr || PQstatus(conn_) != CONNECTION_OK;
    Errc code = state != nullptr ? errcOf(state) : Errc::Unavailable;
    if (broken) {
        code = Errc::Unavailable;
        close();
    }
    return makeError(code, "postgres " + label_ + ": " + what + ": " + message);
}

Result<PgResult> Connection::query(const std::string& sql, const std::vector<std::string>& params,
                                   const std::string& what) {
    if (!connected())
        return failure(nullptr, what);
    auto it = prepared_.find(sql);
    if (it == prepared_.end()) {
        std::string name = "s" + std::to_string(prepared_.size() + 1);
        PgResult prepared(PQprepare(conn_, name.c_str(), sql.c_str(), 0, nullptr));
        if (PQresultStatus(prepared.get()) != PGRES_COMMAND_OK)
            return failure(prepared.get(), what);
        it = prepared_.emplace(sql, std::move(name)).first;
    }
    std::vector<const char*> values;
    values.reserve(params.size());
    for (const auto& p : params)
        values.push_back(p.c_str());
    PgResult result(PQexecPrepared(conn_, it->second.c_str(), static_cast<int>(values.size()),
                                   values.data(), nullptr, nullptr, 0));
    const auto status = PQresultStatus(result.get());
    if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK)
        return failure(result.get(), what);
    return result;
}

Result<void> Connection::command(const char* sql, const std::string& what) {
    if (!connected())
        return failure(nullptr, what);
    PgResult result(PQexec(conn_, sql));
    const auto status = PQresultStatus(result.get());
    if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK)
        return failure(result.get(), what);
    return {};
}

std::string text(const PGresult* result, int row, int column) {
    if (PQgetisnull(result, row, column) != 0)
        return {};
    return {PQgetvalue(result, row, column),
            static_cast<std::size_t>(PQgetlength(result, row, column))};
}

std::int64_t integer(const PGresult* result, int row, int column) {
    const char* value = PQgetvalue(result, row, column);
    const auto length = static_cast<std::size_t>(PQgetlength(result, row, column));
    std::int64_t n = 0;
    std::from_chars(value, value + length, n);
    return n;
}

} // namespace pg

} // namespace autoscale
