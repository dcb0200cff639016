// SPDX-License-Identifier: Apache-2.0
/// \file
/// The inline and thread-pool executors, and the in-flight set.

#include "engine/executor.h"

#include <algorithm>
#include <condition_variable>
#include <deque>
#include <thread>
#include <utility>
#include <vector>

namespace autoscale {

Executor::~Executor() = default;

namespace {

class InlineExecutor final : public Executor {
public:
    ~InlineExecutor() override { InlineExecutor::stop(); }
    InlineExecutor(const InlineExecutor&) = delete;
    InlineExecutor& operator=(const InlineExecutor&) = delete;
    InlineExecutor() = default;

    void submit(Task task) override { task(stop_.get_token()); }
    void interrupt() override { stop_.request_stop(); }
    void stop() override { stop_.request_stop(); }

private:
    std::stop_source stop_;
};

/// A queue of tasks, at most `workers` running at once.
class ThreadPoolExecutor final : public Executor {
public:
    explicit ThreadPoolExecutor(int workers) {
        for (int i = 0; i < std::max(workers, 1); ++i)
            threads_.emplace_back([this](const std::stop_token& stop) { loop(stop); });
    }
    ~ThreadPoolExecutor() override { ThreadPoolExecutor::stop(); }
    ThreadPoolExecutor(const ThreadPoolExecutor&) = delete;
    ThreadPoolExecutor& operator=(const ThreadPoolExecutor&) = delete;

    void submit(Task task) override {
        {
            const std::lock_guard lock(mutex_);
            tasks_.push_back(std::move(task));
        }
        ready_.notify_one();
    }

    void interrupt() override { work_.request_stop(); }

    void stop() override {
        work_.request_stop();
        for (auto& t : threads_)
            t.request_stop();
        ready_.notify_all();
        threads_.clear(); // Joins.
    }

private:
    void loop(const std::stop_token& stop) {
        while (true) {
            Task task;
            {
                std::unique_lock lock(mutex_);
                if (!ready_.wait(lock, stop, [this] { return !tasks_.empty(); }))
                    return;
                task = std::move(tasks_.front());
                tasks_.pop_front();
            }
            task(work_.get_token());
        }
    }

    std::stop_source work_; ///< The stop every task sees.
    std::mutex mutex_;
    std::condition_variable_any ready_;
    std::deque<Task> tasks_;            ///< Guarded by mutex_.
    std::vector<std::jthread> threads_; ///< Last: joined first.
};

} // namespace

std::unique_ptr<Executor> makeInlineExecutor() {
    return std::make_unique<InlineExecutor>();
}

std::unique_ptr<Executor> makeThreadPoolExecutor(int workers) {
    return std::make_unique<ThreadPoolExecutor>(workers);
}

bool InFlight::begin(const std::string& name) {
    const std::lock_guard lock(mutex_);
    return names_.insert(name).second;
}

void InFlight::end(const std::string& name) {
    const std::lock_guard lock(mutex_);
    names_.erase(name);
    if (names_.empty())
        idle_.notify_all();
}

bool InFlight::contains(const std::string& name) const {
    const std::lock_guard lock(mutex_);
    return names_.contains(name);
}

void InFlight::waitIdle() {
    std::unique_lock lock(mutex_);
    idle_.wait(lock, [this] { return names_.empty(); });
}

bool InFlight::waitIdleFor(std::chrono::milliseconds limit) {
    std::unique_lock lock(mutex_);
    return idle_.wait_for(lock, limit, [this] { return names_.empty(); });
}

} // namespace autoscale
