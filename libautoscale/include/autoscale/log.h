// SPDX-License-Identifier: Apache-2.0
/// \file
/// Structured logging: one line per event, JSON by default, human lines when
/// pretty. The sink is injected; secrets are never passed in.

#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <autoscale/clock.h>

namespace autoscale {

enum class LogLevel { Trace, Debug, Info, Warn, Error };

std::string_view nameOf(LogLevel level);

struct LogField {
    std::string key{};
    std::string value{};
};

struct LogRecord {
    WallTime time{};
    LogLevel level = LogLevel::Info;
    std::string component{};
    std::string message{};
    std::vector<LogField> fields{};
};

/// Where records go. Implementations are thread-safe.
class LogSink {
public:
    virtual ~LogSink();
    virtual void write(const LogRecord& record) = 0;

    LogSink(const LogSink&) = delete;
    LogSink& operator=(const LogSink&) = delete;

protected:
    LogSink() = default;
};

/// One JSON object per line: {"time":..., "level":..., "component":..., "msg":..., k: v...}.
std::string formatJsonLine(const LogRecord& record);
/// A human line: "2026-11-27T18:42:00Z INFO  engine: msg k=v ...".
std::string formatPrettyLine(const LogRecord& record);

/// Writes formatted lines to stderr, serialised by a mutex.
std::unique_ptr<LogSink> makeStderrSink(bool pretty);

/// Drops every record: for callers that gave no sink, and for runs whose log
/// nobody reads (the simulation).
class NullSink final : public LogSink {
public:
    NullSink() = default;
    void write(const LogRecord& record) override;
};

/// Keeps records in memory (tests, the API's recent log).
class MemorySink final : public LogSink {
public:
    MemorySink() = default;
    void write(const LogRecord& record) override;
    [[nodiscard]] std::vector<LogRecord> records() const;
    /// Every record formatted as a JSON line, joined with newlines.
    [[nodiscard]] std::string text() const;

private:
    mutable std::mutex mutex_;
    std::vector<LogRecord> records_;
};

/// A component's logger. Cheap to copy; borrows the sink and the clock, which
/// must outlive it. Severity is checked before anything is formatted.
class Logger {
public:
    Logger(LogSink& sink, const Clock& clock, std::string component, LogLevel minLevel);

    [[nodiscard]] Logger child(std::string component) const;
    /// The same logger, adding `fields` (e.g. the pool) to every record after
    /// the record's own.
    [[nodiscard]] Logger with(std::vector<LogField> fields) const;
    [[nodiscard]] bool enabled(LogLevel level) const { return level >= minLevel_; }

    void log(LogLevel level, std::string_view message, std::vector<LogField> fields = {}) const;
    void trace(std::string_view m, std::vector<LogField> f = {}) const {
        log(LogLevel::Trace, m, std::move(f));
    }
    void debug(std::string_view m, std::vector<LogField> f = {}) const {
        log(LogLevel::Debug, m, std::move(f));
    }
    void info(std::string_view m, std::vector<LogField> f = {}) const {
        log(LogLevel::Info, m, std::move(f));
    }
    void warn(std::string_view m, std::vector<LogField> f = {}) const {
        log(LogLevel::Warn, m, std::move(f));
    }
    void error(std::string_view m, std::vector<LogField> f = {}) const {
        log(LogLevel::Error, m, std::move(f));
    }

private:
    LogSink* sink_;
    const Clock* clock_;
    std::string component_;
    LogLevel minLevel_;
    std::vector<LogField> context_{};
};

} // namespace autoscale
