// SPDX-License-Identifier: Apache-2.0
/// \file
/// The demand side: the stages waiting for or running on a runner.

#pragma once

#include <vector>

#include <autoscale/model.h>
#include <autoscale/result.h>

namespace autoscale {

/// A source of queued stages (Drone's GET /api/queue, a file, a simulation).
/// Not thread-safe unless the implementation says so.
class Queue {
public:
    virtual ~Queue();

    /// The incomplete stages of every pool, unfiltered. Blocks at most for the
    /// implementation's timeout.
    [[nodiscard]] virtual Result<std::vector<Stage>> stages() = 0;

    Queue(const Queue&) = delete;
    Queue& operator=(const Queue&) = delete;

protected:
    Queue() = default;
};

} // namespace autoscale
