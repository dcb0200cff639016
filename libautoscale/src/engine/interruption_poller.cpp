// SPDX-License-Identifier: Apache-2.0
/// \file
/// InterruptionPoller: receive, hand each notice to its engine, delete the
/// message; a failed receive is logged and retried after a pause on the Clock.

#include "autoscale/interruption_poller.h"

#include <mutex>
#include <thread>
#include <utility>

#include "engine/lost_builds.h"

namespace autoscale {

namespace {

/// What the hooks share: one Drone client, used by one thread at a time.
struct LostBuildState {
    LostBuildState(DroneSettings settings, std::unique_ptr<HttpClient> client, Store& store,
                   Logger logger, bool restart)
        : http(std::move(client))
        , drone(std::move(settings), *http)
        , log(logger)
        , restarter(store, drone, std::move(logger), restart) {}

    std::mutex mutex;
    std::unique_ptr<HttpClient> http;
    DroneClient drone; ///< Guarded by mutex.
    Logger log;
    LostBuildRestarter restarter; ///< Guarded by mutex.
};

} // namespace

LostBuildHooks makeLostBuildHooks(DroneSettings drone, std::unique_ptr<HttpClient> http,
                                  Store& store, Logger logger, bool restart) {
    auto state = std::make_shared<LostBuildState>(std::move(drone), std::move(http), store,
                                                  std::move(logger), restart);
    LostBuildHooks hooks;
    hooks.find = [state](const Server& server) -> Result<std::vector<LostBuild>> {
        const std::lock_guard lock(state->mutex);
        auto incomplete = state->drone.incompleteBuilds();
        if (incomplete)
            return recordLostBuilds(*incomplete, server.name);
        if (incomplete.error().code != Errc::Unsupported)
            return incomplete.error();
        auto queue = state->drone.stages();
        if (!queue)
            return queue.error();
        return lostBuildsFromQueue(*queue, server.name);
    };
    hooks.handle = [state](const std::string& serverName) {
        const std::lock_guard lock(state->mutex);
        if (auto handled = state->restarter.handle(serverName); !handled) {
            state->log.warn("cannot handle the lost builds of a server; the next start resumes "
                            "them",
                            {{"server", serverName}, {"error", handled.error().message}});
        }
    };
    return hooks;
}

Result<void> handleFleetNotice(Fleet& fleet, const CloudNotice& notice) {
    for (std::size_t i = 0; i < fleet.size(); ++i) {
        auto handled = fleet.engine(i).handleNotice(notice);
        if (handled)
            return {};
        if (handled.error().code != Errc::NotFound)
            return handled.error();
    }
    return makeError(Errc::NotFound, "instance " + notice.instanceId + " is not one of ours");
}

class InterruptionPoller::Impl {
public:
    Impl(InterruptionPoller& owner, InterruptionQueue& queue, NoticeHandler handler,
         const Clock& clock, Logger logger)
        : owner_(owner)
        , queue_(queue)
        , handler_(std::move(handler))
        , clock_(clock)
        , log_(std::move(logger)) {}

    Result<int> pollOnce(const std::stop_token& stop) {
        auto messages = queue_.receive(stop);
        if (!messages)
            return messages.error();
        int removed = 0;
        for (const auto& m : *messages) {
            // Received while stopping: not acted on and not deleted; it comes
            // back after its visibility timeout, to the next start or the leader.
            if (stop.stop_requested())
                break;
            if (!m.problem.empty()) {
                log_.info("queue message not acted on",
                          {{"message", m.messageId}, {"why", m.problem}});
            }
            bool failed = false;
            for (const auto& notice : m.notices) {
                auto handled = handler_(notice);
                if (handled) {
                    log_.info("cloud notice handled", {{"instance", notice.instanceId},
                                                       {"notice", std::string(nameOf(notice.kind))},
                                                       {"state", notice.state}});
                } else if (handled.error().code == Errc::NotFound) {
                    log_.debug("cloud notice about an instance that is not ours",
                               {{"instance", notice.instanceId},
                                {"notice", std::string(nameOf(notice.kind))}});
                } else {
                    failed = true;
                    log_.warn("cannot act on a cloud notice; its message is kept and comes back "
                              "after the queue's visibility timeout",
                              {{"instance", notice.instanceId},
                               {"notice", std::string(nameOf(notice.kind))},
                               {"error", handled.error().message}});
                }
            }
            if (failed)
                continue;
            if (auto r = queue_.remove(m.receiptHandle); r) {
                ++removed;
            } else {
                log_.warn("cannot delete a queue message; it comes back after its visibility "
                          "timeout",
                          {{"message", m.messageId}, {"error", r.error().message}});
            }
        }
        return removed;
    }

    void start() {
        const std::lock_guard lock(mutex_);
        if (thread_.joinable())
            return;
        log_.info("interruption poller started");
        thread_ = std::jthread([this](const std::stop_token& stop) { loop(stop); });
    }

    void stop() {
        std::jthread thread;
        {
            const std::lock_guard lock(mutex_);
            thread = std::move(thread_);
        }
        if (!thread.joinable())
            return;
        thread.request_stop();
        thread.join();
        log_.info("interruption poller stopped");
    }

    bool running() const {
        const std::lock_guard lock(mutex_);
        return thread_.joinable();
    }

private:
    void loop(const std::stop_token& stop) {
        while (!stop.stop_requested()) {
            if (owner_.active && !owner_.active()) {
                // A follower leaves the messages to the leader.
                if (!clock_.sleepFor(std::chrono::seconds{1}, stop))
                    return;
                continue;
            }
            auto polled = pollOnce(stop);
            if (polled || stop.stop_requested())
                continue;
            log_.warn("cannot receive interruption notices; will retry",
                      {{"error", polled.error().message}});
            if (!clock_.sleepFor(owner_.errorDelay, stop))
                return;
        }
    }

    InterruptionPoller& owner_;
    InterruptionQueue& queue_;
    NoticeHandler handler_;
    const Clock& clock_;
    Logger log_;
    mutable std::mutex mutex_;
    std::jthread thread_; ///< Guarded by mutex_.
};

InterruptionPoller::InterruptionPoller(InterruptionQueue& queue, NoticeHandler handler,
                                       const Clock& clock, Logger logger)
    : impl_(std::make_unique<Impl>(*this, queue, std::move(handler), clock, std::move(logger))) {
}

InterruptionPoller::~InterruptionPoller() {
    impl_->stop();
}

void InterruptionPoller::start() {
    impl_->start();
}

void InterruptionPoller::stop() {
    impl_->stop();
}

bool InterruptionPoller::running() const {
    return impl_->running();
}

Result<int> InterruptionPoller::pollOnce(const std::stop_token& stop) {
    return impl_->pollOnce(stop);
}

} // namespace autoscale
