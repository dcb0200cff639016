// SPDX-License-Identifier: Apache-2.0
/// \file
/// The cloud beside the store (SPEC §4 invariant 2): a pure classifier of the
/// provider's instances against the server rows (orphans, vanished, adoptable),
/// used by the engine's sweep and by `plan`'s cloud view, and the orphan marks
/// that make the sweep terminate an orphan only at its second sighting.

#pragma once

#include <chrono>
#include <set>
#include <span>
#include <string>
#include <vector>

#include <autoscale/clock.h>
#include <autoscale/model.h>
#include <autoscale/provider.h>

namespace autoscale {

/// A row without an instance id whose instance the cloud has (found by the
/// server tag): a crash between RunInstances and storing the id.
struct Adoptable {
    std::string server{};
    std::string instanceId{};

    friend bool operator==(const Adoptable&, const Adoptable&) = default;
};

/// What classifyCloud finds.
struct CloudFindings {
    /// Instances not terminated that no row claims, in listing order. A row
    /// claims an instance by its id, else (no row has that id) by the server
    /// tag; a terminated row claims nothing. Shutting-down ones are included
    /// (`plan` shows them; the sweep leaves them alone: they are going).
    std::vector<Instance> unknown{};
    /// Rows in booting..draining, older than the grace, whose instance the
    /// listing lacks or shows shutting down or terminated (spot reclaim, a human).
    /// Candidates only: an instance without our tags (adopted from
    /// drone/autoscaler) is never listed, so the sweep asks for a missing id.
    std::vector<std::string> vanished{};
    /// Creating rows, and error rows with a client token, that have no
    /// instance id but an instance tagged with their name.
    std::vector<Adoptable> adoptable{};
};

/// Classifies `instances` (one provider listing) against `rows`. Pure. An
/// instance id unknown this soon after the row was created (`notFoundGrace`)
/// is "not visible yet" (EC2 is eventually consistent), not vanished; one
/// listed as shutting-down or terminated is vanished however young.
CloudFindings classifyCloud(std::span<const Server> rows, std::span<const Instance> instances,
                            WallTime now, std::chrono::milliseconds notFoundGrace);

/// The first instance not terminated that is tagged with server `name`, or null.
const Instance* instanceTaggedFor(const std::string& name, std::span<const Instance> instances);

/// Orphans seen at the previous sweep. An orphan is terminated when a second
/// sweep still finds it, so that a row being written meanwhile can claim it.
/// Thread-compatible: the cycle owns it.
class OrphanMarks {
public:
    struct Verdict {
        std::vector<std::string> terminate{}; ///< Marked at the previous sweep too.
        std::vector<std::string> marked{};    ///< First seen now.
    };

    /// Given this sweep's orphans (unknown instances not shutting down):
    /// which to terminate now; marks the others, forgets the rest.
    Verdict next(std::span<const Instance> orphans);

    /// Termination of `ids` failed: they stay marked for the next sweep.
    void keep(std::span<const std::string> ids);

    /// The marked ids, for the store (the next leader's sweep terminates them
    /// as this one would have).
    [[nodiscard]] std::vector<std::string> marked() const { return {marks_.begin(), marks_.end()}; }
    /// Takes up ids another process marked.
    void restore(std::span<const std::string> ids) { marks_.insert(ids.begin(), ids.end()); }

private:
    std::set<std::string> marks_;
};

} // namespace autoscale
