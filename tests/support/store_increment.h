// SPDX-License-Identifier: Apache-2.0
/// \file
/// The writer both sides of the Store contract's concurrency cases run: the
/// test's threads and the helper process. No doctest here, so that the helper
/// process can use it.

#pragma once

#include <string>

#include <autoscale/store.h>

namespace autoscale::test {

/// Compare-and-swap increments of `server.capacity` with re-read and retry on
/// Errc::Conflict (and on retryable errors). Returns the number of lost
/// compare-and-swaps, or -1 when another error (or endless contention)
/// stopped it.
inline int incrementCapacity(Store& store, const std::string& name, int times) {
    int conflicts = 0;
    int attempts = 0;
    for (int done = 0; done < times;) {
        if (++attempts > times * 1000)
            return -1;
        auto row = store.find(name);
        if (!row) {
            if (row.error().retryable())
                continue;
            return -1;
        }
        Server next = *row;
        ++next.capacity;
        auto written = store.update(next);
        if (written) {
            ++done;
            continue;
        }
        if (written.error().code == Errc::Conflict) {
            ++conflicts;
            continue;
        }
        if (!written.error().retryable())
            return -1;
    }
    return conflicts;
}

} // namespace autoscale::test
