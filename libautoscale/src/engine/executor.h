// SPDX-License-Identifier: Apache-2.0
/// \file
/// Where the engine's long operations run: an Executor seam with an inline
/// implementation (simulation, unit tests: deterministic) and a thread pool
/// (the daemon), plus the set of servers that have a task in flight.

#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <set>
#include <stop_token>
#include <string>

namespace autoscale {

/// Runs tasks. A task gets a stop token that is requested when the executor
/// shuts down. Thread-safe.
class Executor {
public:
    using Task = std::function<void(const std::stop_token&)>;

    virtual ~Executor();

    /// Runs `task` now on the calling thread (inline) or queues it for a worker.
    /// An exception a task throws inline propagates to the caller.
    virtual void submit(Task task) = 0;

    /// Asks running and queued tasks to stop at their next check, without
    /// waiting for them: their stop token is requested, and tasks submitted
    /// later see it requested too. The daemon's shutdown: an install between
    /// probes ends without writing, so its row stays where a restart resumes it.
    virtual void interrupt() = 0;

    /// Asks running tasks to stop and, for a pool, joins its workers. Idempotent.
    virtual void stop() = 0;

    Executor(const Executor&) = delete;
    Executor& operator=(const Executor&) = delete;

protected:
    Executor() = default;
};

/// Runs every task on the thread that submits it.
std::unique_ptr<Executor> makeInlineExecutor();

/// Runs tasks on `workers` threads (at least one), first in first out.
std::unique_ptr<Executor> makeThreadPoolExecutor(int workers);

/// The servers that have a task queued or running: one task per server at a
/// time. Internally synchronized.
class InFlight {
public:
    /// Marks `name` busy; false when it already was.
    bool begin(const std::string& name);
    /// Marks `name` done and wakes waiters when nothing is left.
    void end(const std::string& name);
    [[nodiscard]] bool contains(const std::string& name) const;

    /// Blocks until nothing is in flight.
    void waitIdle();
    /// Waits at most `limit` (real time: shutdown waits for real cloud calls);
    /// false when something is still in flight.
    bool waitIdleFor(std::chrono::milliseconds limit);

private:
    mutable std::mutex mutex_;
    std::condition_variable idle_;
    std::set<std::string> names_;
};

} // namespace autoscale
