// SPDX-License-Identifier: Apache-2.0
/// \file
/// Error kinds and their retryability.

#include "autoscale/result.h"

namespace autoscale {

std::string_view nameOf(Errc code) {
    switch (code) {
    case Errc::InvalidArgument:
        return "invalid_argument";
    case Errc::Transport:
        return "transport";
    case Errc::Timeout:
        return "timeout";
    case Errc::Unauthorized:
        return "unauthorized";
    case Errc::Forbidden:
        return "forbidden";
    case Errc::NotFound:
        return "not_found";
    case Errc::AlreadyExists:
        return "already_exists";
    case Errc::Conflict:
        return "conflict";
    case Errc::NotLeader:
        return "not_leader";
    case Errc::Throttled:
        return "throttled";
    case Errc::Unavailable:
        return "unavailable";
    case Errc::Capacity:
        return "capacity";
    case Errc::LimitReached:
        return "limit_reached";
    case Errc::Parse:
        return "parse";
    case Errc::Io:
        return "io";
    case Errc::HostKey:
        return "host_key";
    case Errc::Unsupported:
        return "unsupported";
    case Errc::Internal:
        return "internal";
    }
    return "unknown";
}

bool Error::retryable() const {
    switch (code) {
    case Errc::Transport:
    case Errc::Timeout:
    case Errc::Throttled:
    case Errc::Unavailable:
        return true;
    case Errc::InvalidArgument:
    case Errc::Unauthorized:
    case Errc::Forbidden:
    case Errc::NotFound:
    case Errc::AlreadyExists:
    case Errc::Conflict:
    case Errc::NotLeader:
    case Errc::Capacity:
    case Errc::LimitReached:
    case Errc::Parse:
    case Errc::Io:
    case Errc::HostKey:
    case Errc::Unsupported:
    case Errc::Internal:
        return false;
    }
    return false;
}

} // namespace autoscale
