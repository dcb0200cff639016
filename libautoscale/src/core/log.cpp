// SPDX-License-Identifier: Apache-2.0
/// \file
/// Log formatting, the stderr sink and the memory sink.

#include "autoscale/log.h"

#include <cstdio>

#include "json_text.h"
#include "time_format.h"

namespace autoscale {

LogSink::~LogSink() = default;

std::string_view nameOf(LogLevel level) {
    switch (level) {
    case LogLevel::Trace:
        return "trace";
    case LogLevel::Debug:
        return "debug";
    case LogLevel::Info:
        return "info";
    case LogLevel::Warn:
        return "warn";
    case LogLevel::Error:
        return "error";
    }
    return "info";
}

std::string formatJsonLine(const LogRecord& record) {
    std::string line = "{\"time\":" + detail::jsonQuote(detail::formatIso8601(record.time)) +
                       ",\"level\":" + detail::jsonQuote(nameOf(record.level)) +
                       ",\"component\":" + detail::jsonQuote(record.component) +
                       ",\"msg\":" + detail::jsonQuote(record.message);
    for (const auto& field : record.fields)
        line += "," + detail::jsonQuote(field.key) + ":" + detail::jsonQuote(field.value);
    line += "}";
    return line;
}

std::string formatPrettyLine(const LogRecord& record) {
    std::string level(nameOf(record.level));
    for (auto& c : level)
        c = static_cast<char>(c - 'a' + 'A');
    level.resize(5, ' ');
    std::string line = detail::formatIso8601(record.time) + " " + level + " " + record.component +
                       ": " + record.message;
    for (const auto& field : record.fields) {
        line += " " + field.key + "=";
        const bool quote =
                field.value.empty() || field.value.find_first_of(" \"=\t\n") != std::string::npos;
        line += quote ? detail::jsonQuote(field.value) : field.value;
    }
    return line;
}

namespace {

class StderrSink final : public LogSink {
public:
    explicit StderrSink(bool pretty) : pretty_(pretty) {}
    void write(const LogRecord& record) override {
        std::string line = pretty_ ? formatPrettyLine(record) : formatJsonLine(record);
        line += '\n';
        const std::lock_guard lock(mutex_);
        // A log line that stderr refuses has nowhere else to be reported.
        (void)std::fwrite(line.data(), 1, line.size(), stderr);
        (void)std::fflush(stderr);
    }

private:
    bool pretty_;
    std::mutex mutex_;
};

} // namespace

std::unique_ptr<LogSink> makeStderrSink(bool pretty) {
    return std::make_unique<StderrSink>(pretty);
}

void NullSink::write(const LogRecord& /*record*/) {
}

void MemorySink::write(const LogRecord& record) {
    const std::lock_guard lock(mutex_);
    records_.push_back(record);
}

std::vector<LogRecord> MemorySink::records() const {
    const std::lock_guard lock(mutex_);
    return records_;
}

std::string MemorySink::text() const {
    std::string out;
    for (const auto& record : records())
        out += formatJsonLine(record) + "\n";
    return out;
}

Logger::Logger(LogSink& sink, const Clock& clock, std::string component, LogLevel minLevel)
    : sink_(&sink)
    , clock_(&clock)
    , component_(std::move(component))
    , minLevel_(minLevel) {
}

Logger Logger::child(std::string component) const {
    Logger out{*sink_, *clock_, std::move(component), minLevel_};
    out.context_ = context_;
    return out;
}

Logger Logger::with(std::vector<LogField> fields) const {
    Logger out = *this;
    out.context_.insert(out.context_.end(), std::make_move_iterator(fields.begin()),
                        std::make_move_iterator(fields.end()));
    return out;
}

void Logger::log(LogLevel level, std::string_view message, std::vector<LogField> fields) const {
    if (!enabled(level))
        return;
    if (!context_.empty())
        fields.insert(fields.end(), context_.begin(), context_.end());
    sink_->write(LogRecord{.time = clock_->now(),
                           .level = level,
                           .component = component_,
                           .message = std::string(message),
                           .fields = std::move(fields)});
}

} // namespace autoscale
