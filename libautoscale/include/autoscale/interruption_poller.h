// SPDX-License-Identifier: Apache-2.0
/// \file
/// The interruption poller: one thread that long-polls an InterruptionQueue and
/// hands every notice to the engine that owns the instance, then deletes the
/// message (also an ignored, malformed or foreign one). A message with a
/// notice that could not be acted on (the store failed) is kept: it comes
/// back after the queue's visibility timeout. One per process; start() and
/// stop() make it easy to run only while this process leads.

#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <stop_token>

#include <autoscale/clock.h>
#include <autoscale/drone.h>
#include <autoscale/engine.h>
#include <autoscale/fleet.h>
#include <autoscale/http.h>
#include <autoscale/interruptions.h>
#include <autoscale/log.h>
#include <autoscale/result.h>
#include <autoscale/store.h>

namespace autoscale {

/// EngineOptions::findLostBuilds and ::handleLostBuilds as the daemon sets them.
struct LostBuildHooks {
    std::function<Result<std::vector<LostBuild>>(const Server& server)> find{};
    std::function<void(const std::string& serverName)> handle{};
};

/// The daemon's lost-build hooks, sharing one Drone client (calls serialized):
/// `find` asks Drone's incomplete-builds API for the builds whose stages ran on
/// the server (recordLostBuilds), or on Drone OSS (501) reads the queue
/// (lostBuildsFromQueue); `handle` runs a LostBuildRestarter on the row, which
/// cancels and restarts each build once when `restart`
/// (DRONE_RESTART_LOST_BUILDS), else records "not restarted: disabled".
/// `store` and the logger's sink must outlive the hooks.
LostBuildHooks makeLostBuildHooks(DroneSettings drone, std::unique_ptr<HttpClient> http,
                                  Store& store, Logger logger, bool restart);

/// Acts on one notice. Errc::NotFound: the instance is not ours (the message
/// is deleted all the same); any other error keeps the message.
using NoticeHandler = std::function<Result<void>(const CloudNotice& notice)>;

/// Hands `notice` to the pool of `fleet` whose rows hold its instance;
/// Errc::NotFound when no pool has it.
Result<void> handleFleetNotice(Fleet& fleet, const CloudNotice& notice);

/// Long-polls `queue` on its own thread. Borrows the queue, the clock and the
/// logger's sink, which must outlive it. start()/stop() are for one controlling
/// thread.
class InterruptionPoller {
public:
    InterruptionPoller(InterruptionQueue& queue, NoticeHandler handler, const Clock& clock,
                       Logger logger);
    /// Stops and joins the thread.
    ~InterruptionPoller();
    InterruptionPoller(const InterruptionPoller&) = delete;
    InterruptionPoller& operator=(const InterruptionPoller&) = delete;

    /// Starts the polling thread; does nothing when it runs already.
    void start();
    /// Asks the thread to stop and joins it (it ends within the queue's long
    /// poll plus a few seconds); does nothing when it is not running.
    void stop();
    [[nodiscard]] bool running() const;

    /// One receive and the handling of what it brought, on the caller's
    /// thread (the thread's loop body; tests). Returns the messages deleted.
    Result<int> pollOnce(const std::stop_token& stop);

    /// After a failed receive, the thread waits this long before the next.
    std::chrono::milliseconds errorDelay{5000};
    /// Whether to receive now (set before start()): with several daemons only
    /// the leader receives, so that no follower deletes a message unhandled.
    /// Empty: always.
    std::function<bool()> active{};

private:
    class Impl;
    std::unique_ptr<Impl> impl_;
};

} // namespace autoscale
