// SPDX-License-Identifier: Apache-2.0
/// \file
/// The PostgreSQL store against a throw-away PostgreSQL 15 cluster (exits 77
/// when PostgreSQL is not installed): the Store contract, concurrent
/// migrations, reconnect after a restart, the password kept out of messages,
/// fencing by epoch, and leader election (two elections, a terminated lock
/// session, kill -9 of a leading process, a cluster restart).

#include <algorithm>
#include <atomic>
#include <csignal>
#include <fstream>
#include <sys/stat.h>
#include <thread>

#include <doctest/doctest.h>

#include <autoscale/leader.h>
#include <autoscale/postgres_store.h>
#include <autoscale/sqlite_store.h>

#include "doctest_support.h"
#include "pg_cluster.h"
#include "process.h"
#include "store_contract.h"
#include "temp_dir.h"

namespace autoscale::test {

/// A fresh database on the shared cluster; its DSN also in a 0600 file for helper processes.
struct PgDatabase {
    PgDatabase() : dsn(PgCluster::shared().dsn(PgCluster::shared().createDatabase())) {
        std::ofstream out(dsnFile);
        out << dsn << "\n";
        ::chmod(dsnFile.c_str(), 0600);
    }
    TempDir dir{};
    std::string dsnFile = dir.file("dsn");
    std::string dsn;
};

inline std::unique_ptr<PostgresStore> openPg(const std::string& dsn) {
    auto store = openPostgresStore({.dsn = dsn});
    REQUIRE(store);
    return std::move(*store);
}

/// A fresh database per case, shared between connections and processes.
struct PostgresBackend {
    static StoreUnderTest open() {
        auto db = std::make_shared<PgDatabase>();
        const std::string dsn = db->dsn;
        return {.keepAlive = db,
                .store = openPg(dsn),
                .connect = [dsn]() -> std::unique_ptr<Store> { return openPg(dsn); },
                .helperArgs = {"postgres", db->dsnFile}};
    }
};

} // namespace autoscale::test

TYPE_TO_STRING(autoscale::test::PostgresBackend);
AUTOSCALE_STORE_CONTRACT(autoscale::test::PostgresBackend)

namespace autoscale {
namespace {

using namespace std::chrono_literals;
using test::openPg;
using test::PgCluster;
using test::PgDatabase;

const WallTime kNow = WallTime{std::chrono::seconds{1'800'000'000}};

Server row(const std::string& name) {
    return Server{.name = name, .pool = "default", .created = kNow, .updated = kNow};
}

TEST_CASE("redactDsn hides the password of a URI and of a key=value string") {
    CHECK(redactDsn("postgresql://scaler:s3cr%40t@db.example:5432/fleet?sslmode=require") ==
          "postgresql://scaler:***@db.example:5432/fleet?sslmode=require");
    CHECK(redactDsn("postgres://scaler@db/fleet?password=hunter2&sslmode=disable") ==
          "postgres://scaler@db/fleet?password=***&sslmode=disable");
    CHECK(redactDsn("postgres://db/fleet") == "postgres://db/fleet");
    CHECK(redactDsn("host=db user=scaler password=hunter2 dbname=fleet") ==
          "host=db user=scaler password=*** dbname=fleet");
    CHECK(redactDsn("host=db password = 'with \\' quote and space' dbname=fleet") ==
          "host=db password = *** dbname=fleet");
    CHECK(redactDsn("host=db dbname=fleet") == "host=db dbname=fleet");
}

TEST_CASE("two daemons migrating one new database together both succeed, each migration once") {
    PgDatabase db;
    std::vector<std::unique_ptr<PostgresStore>> opened(4);
    std::atomic<int> failures{0};
    {
        std::vector<std::jthread> openers;
        for (std::size_t i = 0; i < opened.size(); ++i) {
            openers.emplace_back([&, i] {
                auto store = openPostgresStore({.dsn = db.dsn});
                if (store)
                    opened[i] = std::move(*store);
                else
                    ++failures;
            });
        }
    }
    REQUIRE(failures == 0);
    auto& cluster = PgCluster::shared();
    const std::string database = db.dsn.substr(db.dsn.rfind('/') + 1);
    CHECK(cluster.scalar("SELECT COUNT(*) FROM autoscale_migrations", database) == "3");
    CHECK(cluster.scalar("SELECT epoch FROM autoscale_leadership", database) == "0");
    REQUIRE(opened[0]->insert(row("a")));
    CHECK(opened[3]->find("a"));
}

TEST_CASE("a read-only store never creates the schema and refuses writes") {
    PgDatabase db;
    auto ro = openPostgresStore({.dsn = db.dsn, .readOnly = true});
    REQUIRE(ro);
    CHECK((*ro)->list()->empty());
    CHECK_FALSE((*ro)->getValue("paused")->has_value());
    CHECK((*ro)->insert(row("a")).error().code == Errc::InvalidArgument);
    const std::string database = db.dsn.substr(db.dsn.rfind('/') + 1);
    CHECK(PgCluster::shared().scalar("SELECT to_regclass('autoscale_servers') IS NULL", database) ==
          "t");
    auto rw = openPg(db.dsn);
    REQUIRE(rw->insert(row("a")));
    auto ro2 = openPostgresStore({.dsn = db.dsn, .readOnly = true});
    REQUIRE(ro2);
    CHECK((*ro2)->list()->size() == 1);
    Server a = *(*ro2)->find("a");
    a.capacity = 9;
    CHECK((*ro2)->update(a).error().code == Errc::InvalidArgument);
}

TEST_CASE("the DSN's password appears in no error") {
    const std::string password = PgCluster::kPassword;
    auto& cluster = PgCluster::shared();
    std::vector<std::string> dsns = {
            // Wrong password, URI and key=value forms.
            "postgresql://postgres:wrong-" + password +
                    "@127.0.0.1:" + std::to_string(cluster.port()) + "/postgres",
            "host=127.0.0.1 port=" + std::to_string(cluster.port()) +
                    " user=postgres password=wrong-" + password + " dbname=postgres",
            // No such database, right password.
            cluster.dsn("no_such_database"),
            // Nothing listens there.
            "postgresql://postgres:" + password + "@127.0.0.1:1/postgres",
            // Malformed: a bad percent-encoding right next to the password.
            "postgresql://postgres:" + password +
                    "%zz@127.0.0.1:" + std::to_string(cluster.port()) + "/postgres",
            "host=127.0.0.1 password=" + password + " bogus_option=1",
    };
    for (const auto& dsn : dsns) {
        CAPTURE(redactDsn(dsn));
        auto store = openPostgresStore({.dsn = dsn});
        REQUIRE_FALSE(store);
        CHECK(store.error().message.find(password) == std::string::npos);
        CHECK(store.error().message.find("postgres") != std::string::npos);
        auto lock = makePgLockSession({.dsn = dsn});
        auto acquired = lock->tryAcquire();
        REQUIRE_FALSE(acquired);
        CHECK(acquired.error().message.find(password) == std::string::npos);
    }
}

TEST_CASE("the store reconnects after PostgreSQL restarts, answering Unavailable meanwhile") {
    PgDatabase db;
    auto store = openPostgresStore({.dsn = db.dsn, .reconnectMin = 50ms, .reconnectMax = 500ms});
    REQUIRE(store);
    REQUIRE((*store)->insert(row("before")));
    PgCluster::shared().restart();
    // The first call notices the dropped session; none crashes, and every
    // failure meanwhile is retryable.
    bool nonRetryable = false;
    const bool back = test::waitFor(
            [&] {
                auto r = (*store)->find("before");
                if (!r && !r.error().retryable())
                    nonRetryable = true;
                return r.has_value();
            },
            30s);
    CHECK(back);
    CHECK_FALSE(nonRetryable);
    CHECK((*store)->insert(row("after")));
    CHECK((*store)->list()->size() == 2);
}

TEST_CASE("a fenced view writes while its epoch is current, and after an election every "
          "mutating call is NotLeader with nothing written") {
    PgDatabase db;
    auto store = openPg(db.dsn);
    const auto first = store->bumpEpoch("daemon-a");
    REQUIRE(first);
    bool guardOpen = true;
    auto old = store->fencedBy(*first, [&guardOpen]() -> Result<void> {
        if (guardOpen)
            return {};
        return makeError(Errc::NotLeader, "deadline passed");
    });
    REQUIRE(old->insert(row("a")));
    REQUIRE(old->insertWithin(row("b"), InsertCaps{.poolMax = 5, .fleetMax = 5}));
    Server a = *old->find("a");
    a.capacity = 2;
    a = old->update(a).value();
    REQUIRE(old->putValue("paused", "true"));

    // The guard (the leader's own deadline) refuses before the database is asked.
    guardOpen = false;
    CHECK(old->putValue("paused", "false").error().code == Errc::NotLeader);
    guardOpen = true;

    const auto second = store->bumpEpoch("daemon-b");
    REQUIRE(second);
    CHECK(*second == *first + 1);
    CHECK(store->leadership()->holder == "daemon-b");

    const auto before = store->list().value();
    Server stale = a;
    stale.capacity = 7;
    const auto inserted = old->insert(row("c"));
    const auto capped = old->insertWithin(row("d"), InsertCaps{.fleetMax = 9});
    const auto updated = old->update(stale);
    const auto removed = old->remove("b", 1);
    const auto purged = old->purge(kNow + 48h);
    const auto put = old->putValue("paused", "false");
    REQUIRE_FALSE(inserted);
    REQUIRE_FALSE(capped);
    REQUIRE_FALSE(updated);
    REQUIRE_FALSE(removed);
    REQUIRE_FALSE(purged);
    REQUIRE_FALSE(put);
    for (const Error& e : std::vector<Error>{inserted.error(), capped.error(), updated.error(),
                                             removed.error(), purged.error(), put.error()}) {
        CHECK(e.code == Errc::NotLeader);
        CHECK_FALSE(e.retryable());
    }
    CHECK(store->list().value() == before);
    CHECK(store->getValue("paused")->value_or("") == "true");
    // Reads pass through.
    CHECK(old->find("a")->capacity == 2);
    CHECK(old->getValue("paused")->value_or("") == "true");

    auto current = store->fencedBy(*second);
    Server older = stale;
    older.version = 1;
    CHECK(current->update(older).error().code == Errc::Conflict); // Still a CAS.
    Server next = *current->find("a");
    next.capacity = 5;
    CHECK(current->update(next));
    CHECK(current->insert(row("c")));
    CHECK(current->remove("b", 1));
    CHECK(current->putValue("paused", "false"));
    CHECK(store->getValue("paused")->value_or("") == "false");
}

struct Daemon {
    Daemon(const std::string& dsn, const std::string& id)
        : election(makePgLockSession({.dsn = dsn, .applicationName = "lock-" + id}),
                   std::shared_ptr<const Clock>(makeSystemClock()), id) {}
    void start() {
        thread = std::jthread([this](const std::stop_token& stop) { election.run(stop); });
    }
    LeaderElection election;
    std::jthread thread{};
};

int leaders(const std::vector<Daemon*>& daemons) {
    return static_cast<int>(std::count_if(daemons.begin(), daemons.end(), [](Daemon* d) {
        return d->election.role() == Role::Leader;
    }));
}

TEST_CASE("election: two elections on one database: exactly one leads; when its lock session is "
          "terminated the other leads within seconds with a higher epoch") {
    PgDatabase db;
    auto store = openPg(db.dsn);
    Daemon a(db.dsn, "daemon-a");
    Daemon b(db.dsn, "daemon-b");
    a.start();
    b.start();
    const std::vector<Daemon*> both{&a, &b};
    REQUIRE(test::waitFor([&] { return leaders(both) == 1; }, 10s));
    // Several intervals later, still exactly one, and both know who.
    std::this_thread::sleep_for(2500ms);
    REQUIRE(leaders(both) == 1);
    Daemon* leader = a.election.role() == Role::Leader ? &a : &b;
    Daemon* follower = leader == &a ? &b : &a;
    CHECK(follower->election.leaderId() == leader->election.id());
    CHECK(leader->election.leaderId() == leader->election.id());
    const auto firstEpoch = leader->election.epoch();
    CHECK(firstEpoch == store->leadership()->epoch);
    auto fenced = store->fencedBy(firstEpoch, [leader] { return leader->election.guard(); });
    REQUIRE(fenced->putValue("k", "1"));

    std::vector<double> seconds;
    for (int run = 0; run < 10; ++run) {
        Daemon* current = a.election.role() == Role::Leader ? &a : &b;
        Daemon* other = current == &a ? &b : &a;
        const auto epoch = current->election.epoch();
        const auto started = std::chrono::steady_clock::now();
        REQUIRE(PgCluster::shared().terminateBackends("lock-" + current->election.id()) == 1);
        REQUIRE(test::waitFor([&] { return other->election.role() == Role::Leader; }, 10s));
        seconds.push_back(
                std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
        CHECK(other->election.epoch() > epoch);
        // The old leader is a follower by its next tick; its fenced writes fail meanwhile.
        CHECK(test::waitFor([&] { return current->election.role() == Role::Follower; }, 3s));
        CHECK(leaders(both) == 1);
    }
    CHECK(fenced->putValue("k", "2").error().code == Errc::NotLeader);
    std::sort(seconds.begin(), seconds.end());
    MESSAGE("failover after pg_terminate_backend, 10 runs: median "
            << (seconds[4] + seconds[5]) / 2 << " s, max " << seconds.back() << " s");
    CHECK(seconds.back() < 3.5);
}

TEST_CASE("election: kill -9 of a process holding the lock: this daemon leads within seconds") {
    const std::string helper = test::testEnv("AUTOSCALE_STORE_HELPER_BIN");
    if (helper.empty())
        return;
    PgDatabase db;
    auto store = openPg(db.dsn);
    std::vector<double> seconds;
    for (int run = 0; run < 10; ++run) {
        test::TempDir logs;
        test::BackgroundProcess other({helper, "postgres", db.dsnFile, "lead", "helper"}, {},
                                      logs.file("helper.log"));
        REQUIRE(test::waitFor([&] { return other.output().find("leader ") != std::string::npos; },
                              10s));
        const auto epoch = store->leadership()->epoch;
        Daemon self(db.dsn, "self");
        self.start();
        std::this_thread::sleep_for(1200ms);
        REQUIRE(self.election.role() == Role::Follower);
        CHECK(self.election.leaderId() == "helper");
        const auto started = std::chrono::steady_clock::now();
        other.signal(SIGKILL);
        REQUIRE(test::waitFor([&] { return self.election.role() == Role::Leader; }, 10s));
        seconds.push_back(
                std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
        CHECK(self.election.epoch() == epoch + 1);
    }
    std::sort(seconds.begin(), seconds.end());
    MESSAGE("failover after kill -9, 10 runs: median " << (seconds[4] + seconds[5]) / 2
                                                       << " s, max " << seconds.back() << " s");
    CHECK(seconds.back() < 3.5);
}

TEST_CASE("election: a frozen leader (SIGSTOP) is replaced, and after SIGCONT it is a follower") {
    const std::string helper = test::testEnv("AUTOSCALE_STORE_HELPER_BIN");
    if (helper.empty())
        return;
    PgDatabase db;
    auto store = openPg(db.dsn);
    test::TempDir logs;
    test::BackgroundProcess other({helper, "postgres", db.dsnFile, "lead", "frozen"}, {},
                                  logs.file("helper.log"));
    REQUIRE(test::waitFor([&] { return other.output().find("leader ") != std::string::npos; },
                          10s));
    Daemon self(db.dsn, "self");
    self.start();
    other.signal(SIGSTOP);
    const auto started = std::chrono::steady_clock::now();
    REQUIRE(test::waitFor([&] { return self.election.role() == Role::Leader; }, 20s));
    const double took =
            std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    MESSAGE("takeover from a SIGSTOPped leader: " << took << " s");
    CHECK(took < 15);
    const auto epoch = self.election.epoch();
    other.signal(SIGCONT);
    // Resumed, it finds its last confirm too old and steps down at once.
    CHECK(test::waitFor([&] { return other.output().find("follower") != std::string::npos; }, 5s));
    CHECK(self.election.role() == Role::Leader);
    CHECK(self.election.epoch() == epoch);
}

TEST_CASE("election: after a PostgreSQL restart there is a leader again, with a higher epoch") {
    PgDatabase db;
    auto store = openPg(db.dsn);
    Daemon a(db.dsn, "daemon-a");
    Daemon b(db.dsn, "daemon-b");
    a.start();
    b.start();
    const std::vector<Daemon*> both{&a, &b};
    REQUIRE(test::waitFor([&] { return leaders(both) == 1; }, 10s));
    const auto epoch = std::max(a.election.epoch(), b.election.epoch());
    PgCluster::shared().stop();
    CHECK(test::waitFor([&] { return leaders(both) == 0; }, 5s));
    PgCluster::shared().start();
    const auto started = std::chrono::steady_clock::now();
    REQUIRE(test::waitFor(
            [&] {
                return leaders(both) == 1 &&
                       std::max(a.election.epoch(), b.election.epoch()) > epoch;
            },
            15s));
    MESSAGE("a leader again "
            << std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count()
            << " s after PostgreSQL is back");
    std::this_thread::sleep_for(1500ms);
    CHECK(leaders(both) == 1);
}

TEST_CASE("autoscaler-admin migrate copies every row and value, is idempotent, refuses another "
          "fleet's rows and never prints the password") {
    const std::string admin = test::testEnv("AUTOSCALER_ADMIN_BIN");
    REQUIRE_FALSE(admin.empty());
    test::TempDir dir;
    const std::string path = dir.file("database.sqlite");
    std::vector<Server> rows;
    {
        auto sqlite = openSqliteStore({.path = path});
        REQUIRE(sqlite);
        for (const auto* name : {"agent-1", "agent-2", "agent-3"}) {
            Server s = test::contract::fullServer(name);
            s.created = kNow + std::chrono::seconds{name[6] - '0'};
            REQUIRE((*sqlite)->insert(s));
        }
        Server two = *(*sqlite)->find("agent-2");
        two.state = ServerState::Running;
        REQUIRE((*sqlite)->update(two)); // Version 2, kept by the copy.
        REQUIRE((*sqlite)->putValue("paused", "true"));
        REQUIRE((*sqlite)->putValue("backoff/default", "{\"failures\":1}"));
        rows = (*sqlite)->list().value();
    }
    PgDatabase db;
    const std::string password = PgCluster::kPassword;
    const std::map<std::string, std::string> env{{"DRONE_DATABASE_DATASOURCE", db.dsn}};

    const auto first = test::runProcess(
            {admin, "migrate", "--from", "sqlite:" + path, "--to", "postgres:"}, env);
    INFO(first.out << first.err);
    REQUIRE(first.exitCode == 0);
    CHECK(first.out.find("copied 3 servers and 2 values") != std::string::npos);
    CHECK(first.out.find("postgres:postgresql://postgres:***@127.0.0.1") != std::string::npos);
    auto pg = openPg(db.dsn);
    CHECK(pg->list().value() == rows);
    CHECK(pg->find("agent-2")->version == 2);
    CHECK(pg->getValue("paused")->value_or("") == "true");
    CHECK(pg->getValue("backoff/default")->value_or("") == "{\"failures\":1}");

    // Again, with the DSN on the command line: nothing new, and no password printed.
    const auto again = test::runProcess(
            {admin, "migrate", "--from", "sqlite:" + path, "--to", "postgres:" + db.dsn}, {});
    INFO(again.out << again.err);
    CHECK(again.exitCode == 0);
    CHECK(again.out.find("copied 0 servers and 0 values") != std::string::npos);
    CHECK(again.out.find("identical: 3 servers and 2 values") != std::string::npos);
    CHECK((again.out + again.err).find(password) == std::string::npos);

    // The target moves on (another fleet, or a daemon ran on it): refused, nothing written.
    REQUIRE(pg->insert(row("elsewhere")));
    const auto refused = test::runProcess(
            {admin, "migrate", "--from", "sqlite:" + path, "--to", "postgres:" + db.dsn}, {});
    CHECK(refused.exitCode == 1);
    CHECK(refused.err.find("server elsewhere") != std::string::npos);
    CHECK((refused.out + refused.err).find(password) == std::string::npos);
    CHECK(pg->list()->size() == 4);

    // A wrong password: the error names the target without any password.
    const auto wrong =
            test::runProcess({admin, "migrate", "--from", "sqlite:" + path, "--to",
                              "postgres:postgresql://postgres:wrong-" + password + "@127.0.0.1:" +
                                      std::to_string(PgCluster::shared().port()) + "/postgres"},
                             {});
    CHECK(wrong.exitCode == 1);
    CHECK((wrong.out + wrong.err).find(password) == std::string::npos);
    CHECK(test::runProcess({admin, "migrate", "--from", path, "--to", "postgres:" + db.dsn}, {})
                  .exitCode == 2);
}

} // namespace
} // namespace autoscale
