// SPDX-License-Identifier: Apache-2.0
/// \file
/// One variable being read: its raw value and typed readers that record a
/// problem line naming the variable when the value does not fit. Private to
/// the configuration.

#pragma once

#include <chrono>
#include <initializer_list>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <autoscale/config.h>

namespace autoscale::detail {

/// Reads one variable of the table. Every reader leaves `out` unchanged when
/// the variable is unset or empty (an empty value means unset) and when the
/// value is rejected; a rejected value adds one problem line.
class Field {
public:
    /// Borrows everything; `problems` collects one line per problem.
    Field(const VariableSpec& spec, const Environment& env, const ConfigNeeds& needs,
          std::vector<std::string>& problems);

    [[nodiscard]] std::string_view name() const { return spec_.name; }
    /// The value, or nullopt when unset or empty.
    [[nodiscard]] const std::optional<std::string>& raw() const { return raw_; }
    /// The whole environment (DRONE_AGENT_ENVIRON copies bare names from it).
    [[nodiscard]] const Environment& env() const { return env_; }
    [[nodiscard]] const ConfigNeeds& needs() const { return needs_; }

    /// Adds "<NAME>: <what>".
    void problem(const std::string& what);
    /// "\"value\"", or "the value" for a secret variable.
    [[nodiscard]] std::string quoted(const std::string& value) const;

    void string(std::string& out);
    /// As string(), but a problem "is required but not set; expected <expected>"
    /// when unset and `isRequired`.
    void required(std::string& out, bool isRequired, std::string_view expected);
    void integer(int& out, int minimum, int maximum);
    void optionalInteger(std::optional<int>& out, int minimum, int maximum);
    void boolean(bool& out);
    void list(std::vector<std::string>& out);
    void map(std::map<std::string, std::string>& out);
    /// The trimmed, lower-cased value, one of `allowed`.
    void oneOf(std::string& out, std::initializer_list<std::string_view> allowed);
    /// An http:// or https:// URL.
    void url(std::string& out);

    /// A Go duration of at least `minimum`.
    template <typename Duration>
    void duration(Duration& out, std::chrono::milliseconds minimum) {
        if (const auto parsed = durationAtLeast(minimum))
            out = std::chrono::duration_cast<Duration>(*parsed);
    }

private:
    std::optional<std::chrono::milliseconds> durationAtLeast(std::chrono::milliseconds minimum);

    const VariableSpec& spec_;
    const Environment& env_;
    const ConfigNeeds& needs_;
    std::vector<std::string>& problems_;
    std::optional<std::string> raw_;
};

/// Reads one variable into the Config.
using Bind = void (*)(Field& field, Config& config);

/// A row of the table with what reads it; `bind` is null for ignored variables.
struct Variable {
    VariableSpec spec{};
    Bind bind = nullptr;
};

/// The table: every variable once, in documentation order.
std::span<const Variable> variableTable();

/// Whitespace trimmed from both ends.
std::string trimmed(std::string_view text);

/// parseConfig's reading without its verdict: every variable of the table read
/// into a Config and the checks of two variables, each problem appended to
/// `problems` (a rejected value leaves its default). `pools` holds the one
/// pool "default" made of `pool`, `agent` and `amazon`; `warnings` is filled.
Config parseEnvironment(const Environment& env, const ConfigNeeds& needs,
                        std::vector<std::string>& problems);

/// The problems, then the warnings as "warning: ..." lines, one per line: the
/// message of a configuration error.
std::string problemsMessage(const std::vector<std::string>& problems,
                            const std::vector<std::string>& warnings);

} // namespace autoscale::detail
