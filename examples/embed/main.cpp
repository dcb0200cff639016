// SPDX-License-Identifier: Apache-2.0
/// \file
/// Embedding libautoscale: a program that brings its own Queue (here, demand
/// read from the command line instead of a Drone server) and prints the plan
/// the autoscaler's planner makes for it. Uses the public API only.
///
///   embed_example [PENDING] [RUNNING]

#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include <autoscale/json.h>
#include <autoscale/plan_report.h>
#include <autoscale/queue.h>

namespace {

/// A Queue of our own: `pending` waiting and `running` running linux/amd64 stages.
class StaticQueue final : public autoscale::Queue {
public:
    StaticQueue(int pending, int running) : pending_(pending), running_(running) {}

    autoscale::Result<std::vector<autoscale::Stage>> stages() override {
        std::vector<autoscale::Stage> out;
        for (int i = 0; i < pending_ + running_; ++i) {
            out.push_back(autoscale::Stage{.id = i + 1,
                                           .status = i < pending_ ? "pending" : "running",
                                           .os = "linux",
                                           .arch = "amd64"});
        }
        return out;
    }

private:
    int pending_;
    int running_;
};

} // namespace

int main(int argc, char** argv) {
    const int pending = argc > 1 ? std::atoi(argv[1]) : 5;
    const int running = argc > 2 ? std::atoi(argv[2]) : 0;
    StaticQueue queue(pending, running);
    const autoscale::PoolSettings pool{.min = 0, .max = 4, .concurrency = 2};
    const auto clock = autoscale::makeSystemClock();
    auto report = autoscale::planOnce(pool, queue, {}, clock->now());
    if (!report) {
        std::fprintf(stderr, "embed_example: %s\n", report.error().message.c_str());
        return 1;
    }
    std::printf("%s", autoscale::formatPlanText(*report).c_str());
    std::printf("%s\n", autoscale::planToJson(report->plan).c_str());
    return 0;
}
