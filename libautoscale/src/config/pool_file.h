// SPDX-License-Identifier: Apache-2.0
/// \file
/// The pool file's keys and the DRONE_* variables they default from, and the
/// file applied to a Config with its problems appended: what loadConfig()
/// and applyPoolFile() share, and what the tests check the table against.
/// Private to the configuration.

#pragma once

#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <autoscale/config.h>

namespace autoscale::detail {

/// How a key of a pool is read.
enum class PoolKeyKind {
    Section,      ///< A map of further keys: platform, amazon, amazon.volume, runner.
    Scalar,       ///< One value, read by `variable`'s reader.
    List,         ///< A list, comma-joined for `variable`'s reader.
    Map,          ///< A map, written k:v,... for `variable`'s reader.
    FirstAndRest, ///< A list: the first item is `variable`, the others `restVariable`.
    Name,         ///< The pool's name, [a-z0-9-]{1,32}, unique in the file.
    Market,       ///< on-demand or spot, read as DRONE_AMAZON_MARKET_TYPE "" or spot.
    OnDemandMax,  ///< A whole number from 0, no variable.
};

/// Sets a key's field of the pool being read to its empty value.
using ClearField = void (*)(Config& config);

/// One key a pool may set.
struct PoolKey {
    std::string_view path{}; ///< Dotted from the pool: "amazon.volume.size".
    PoolKeyKind kind = PoolKeyKind::Scalar;
    std::string_view variable{};     ///< The DRONE_* variable it defaults from; "" for none.
    std::string_view restVariable{}; ///< FirstAndRest: the variable of the other items.
    /// For "", [] or {}: sets the empty value (overriding the environment's);
    /// null when an empty value is a problem.
    ClearField clear = nullptr;
    /// FirstAndRest: empties `restVariable`'s field before the other items are read.
    ClearField clearRest = nullptr;
};

/// Every key of a pool, sections included, in README order.
std::span<const PoolKey> poolKeys();

/// Applies the pool file `yamlText` (named `path` in messages) to `config`,
/// appending one line per problem to `problems`; `config` is changed only
/// when there is none. See applyPoolFile() in config.h.
void applyPoolFileTo(Config& config, std::string_view yamlText, const std::string& path,
                     const ConfigNeeds& needs, const Environment& env,
                     std::vector<std::string>& problems);

} // namespace autoscale::detail
