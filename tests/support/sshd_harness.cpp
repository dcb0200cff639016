// SPDX-License-Identifier: Apache-2.0
/// \file
/// SshdHarness: sshd with a stand-in instance behind ForceCommand (see the header).

#include "sshd_harness.h"

#include <algorithm>
#include <arpa/inet.h>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <netinet/in.h>
#include <spawn.h>
#include <sstream>
#include <stdexcept>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <system_error>
#include <thread>
#include <unistd.h>

#include "temp_dir.h"

extern char** environ; // NOLINT(readability-redundant-declaration): POSIX, for posix_spawn.

namespace autoscale::test {

namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

constexpr const char* kSshd = "/usr/sbin/sshd";

/// The stand-in for an instance: ForceCommand runs it for every command.
constexpr const char* kInstanceScript = R"SH(#!/bin/sh
D=@DIR@
f="$D/record/$(date +%s%N).$$"
cat > "$f.stdin"
printf '%s' "$SSH_ORIGINAL_COMMAND" > "$f.cmd"
cd "$D/home" || exit 1
HOME="$D/home" PATH="$D/bin:$PATH" FAKE_DIR="$D" exec sh -c "$SSH_ORIGINAL_COMMAND" < "$f.stdin"
)SH";

/// Kills the sshd processes serving this connection (dropped connection).
constexpr const char* kDropFunction = R"SH(
drop_connection() {
    L=$(cat "$D/sshd.pid")
    p=$$
    pids=""
    while [ "$p" -gt 1 ]; do
        pp=$(sed 's/.*) //' "/proc/$p/stat" | cut -d' ' -f2)
        if [ "$pp" = "$L" ]; then pids="$pids $p"; kill -9 $pids; exit 0; fi
        case "$(cat "/proc/$p/comm")" in sshd*) pids="$pids $p" ;; esac
        p=$pp
    done
}
)SH";

constexpr const char* kDockerScript = R"SH(
C="$D/containers"
printf '%s\n' "$*" >> "$D/docker-argv.log"
for a; do last=$a; done
case "$1" in
info)
    if [ -e "$D/docker-down" ]; then echo "Cannot connect to the Docker daemon" >&2; exit 1; fi
    echo 24.0.5 ;;
pull)
    if [ -e "$D/fail-pull" ]; then echo "pull access denied for $last" >&2; exit 1; fi
    echo "docker.io/$last" ;;
inspect)
    if [ ! -d "$C/$last" ]; then echo "Error: No such object: $last" >&2; exit 1; fi
    case "$*" in
    *--format*) read -r running < "$C/$last/running"; read -r config < "$C/$last/config"
                echo "$running $config" ;;
    *) echo '[{}]' ;;
    esac ;;
rm)
    if [ ! -d "$C/$last" ]; then echo "Error: No such container: $last" >&2; exit 1; fi
    rm -rf "$C/$last" ;;
run)
    name=""; config="<no value>"; envfile=""; prev=""
    for a; do
        [ "$prev" = --name ] && name=$a
        [ "$prev" = --env-file ] && envfile=$a
        case "$prev=$a" in --label=io.autoscale.config=*) config=${a#io.autoscale.config=} ;; esac
        prev=$a
    done
    if [ -d "$C/$name" ]; then echo "Conflict. The container name \"/$name\" is already in use" >&2; exit 125; fi
    if [ ! -r "$envfile" ]; then echo "open $envfile: no such file or directory" >&2; exit 125; fi
    mkdir "$C/$name"
    echo true > "$C/$name/running"
    echo "$config" > "$C/$name/config"
    printf '%s\n' "$*" > "$C/$name/args"
    cp "$envfile" "$C/$name/env"
    echo 0123456789abcdef
    if [ -e "$D/drop-after-run" ]; then rm -f "$D/drop-after-run"; drop_connection; fi ;;
update)
    if [ ! -d "$C/$last" ]; then exit 1; fi
    printf '%s\n' "$*" > "$C/$last/update" ;;
stop)
    if [ ! -d "$C/$last" ]; then exit 1; fi
    printf '%s\n' "$*" > "$C/$last/stop"
    echo false > "$C/$last/running" ;;
*)
    echo "fake docker: unsupported command $1" >&2; exit 1 ;;
esac
)SH";

constexpr const char* kCloudInitScript = R"SH(#!/bin/sh
D="$FAKE_DIR"
[ "$1" = status ] || { echo "fake cloud-init: unsupported $1" >&2; exit 1; }
if [ -s "$D/cloud-init-running" ]; then
    n=$(cat "$D/cloud-init-running")
    if [ "$n" -gt 0 ]; then echo $((n - 1)) > "$D/cloud-init-running"; echo "status: running"; exit 0; fi
fi
echo "status: done"
)SH";

void writeText(const std::string& path, const std::string& text, mode_t mode) {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out << text;
    out.close();
    if (!out || ::chmod(path.c_str(), mode) != 0)
        throw std::runtime_error("cannot write " + path);
}

std::string replaceAll(std::string text, const std::string& from, const std::string& to) {
    for (auto pos = text.find(from); pos != std::string::npos;
         pos = text.find(from, pos + to.size()))
        text.replace(pos, from.size(), to);
    return text;
}

int freePort() {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t size = sizeof addr;
    if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
        ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &size) != 0) {
        if (fd >= 0)
            ::close(fd);
        return 0;
    }
    ::close(fd);
    return ntohs(addr.sin_port);
}

bool accepting(int port) {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons(static_cast<std::uint16_t>(port));
    const bool ok = fd >= 0 && ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
    if (fd >= 0)
        ::close(fd);
    return ok;
}

} // namespace

std::unique_ptr<SshdHarness> SshdHarness::start(std::string& whyNot) {
    if (::access(kSshd, X_OK) != 0) {
        whyNot = std::string(kSshd) + " is not installed";
        return nullptr;
    }
    std::unique_ptr<SshdHarness> harness(new SshdHarness());
    try {
        harness->dir_ = makeTempDir("autoscale-sshd-");
    } catch (const std::exception& e) {
        whyNot = e.what();
        return nullptr;
    }
    for (int attempt = 0; attempt < 3; ++attempt) {
        if (harness->launch(whyNot))
            return harness;
    }
    return nullptr;
}

bool SshdHarness::launch(std::string& whyNot) {
    // sshd insists on its privilege separation directory.
    if (::access("/run/sshd", F_OK) != 0 && ::mkdir("/run/sshd", 0755) != 0) {
        whyNot = std::string("cannot create /run/sshd: ") + std::generic_category().message(errno);
        return false;
    }
    auto host = generateHostKey();
    auto client = generateEd25519Key("autoscale-test");
    if (!host || !client) {
        whyNot = "key generation failed";
        return false;
    }
    hostKey_ = *host;
    clientKey_ = *client;
    port_ = freePort();
    if (port_ == 0) {
        whyNot = "no free port";
        return false;
    }
    for (const char* sub : {"record", "home", "bin", "containers"})
        fs::create_directories(path(sub));
    writeText(path("host_key"), hostKey_.privateKey, 0600);
    writeText(path("authorized_keys"), clientKey_.publicKey + "\n", 0600);
    writeText(path("instance"), replaceAll(kInstanceScript, "@DIR@", dir_), 0755);
    writeText(path("bin/docker"),
              "#!/bin/sh\nD=\"$FAKE_DIR\"\n" + std::string(kDropFunction) + kDockerScript, 0755);
    writeText(path("bin/cloud-init"), kCloudInitScript, 0755);
    std::ostringstream config;
    config << "Port " << port_ << "\n"
           << "ListenAddress 127.0.0.1\n"
           << "HostKey " << path("host_key") << "\n"
           << "PidFile none\n"
           << "UsePAM no\n"
           << "StrictModes no\n"
           << "PermitRootLogin prohibit-password\n"
           << "AuthorizedKeysFile " << path("authorized_keys") << "\n"
           << "PubkeyAuthentication yes\n"
           // libssh2 1.10 signs RSA user keys with ssh-rsa (SHA-1) only, which
           // OpenSSH >= 8.8 refuses unless allowed again; the RSA test needs it.
           << "PubkeyAcceptedAlgorithms +ssh-rsa\n"
           << "PasswordAuthentication no\n"
           << "KbdInteractiveAuthentication no\n"
           << "UseDNS no\n"
           << "PrintMotd no\n"
           << "MaxStartups 200\n"
           << "MaxSessions 50\n"
           << "LogLevel INFO\n"
           << "ForceCommand " << path("instance") << "\n";
    writeText(path("sshd_config"), config.str(), 0644);

    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    const std::string logPath = path("sshd.log");
    posix_spawn_file_actions_addopen(&actions, 1, logPath.c_str(), O_WRONLY | O_CREAT | O_APPEND,
                                     0644);
    posix_spawn_file_actions_adddup2(&actions, 1, 2);
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
    const std::string configPath = path("sshd_config");
    std::vector<std::string> args{kSshd, "-D", "-e", "-r", "-f", configPath};
    std::vector<char*> argv;
    argv.reserve(args.size() + 1);
    for (auto& arg : args)
        argv.push_back(arg.data());
    argv.push_back(nullptr);
    const int rc = ::posix_spawn(&pid_, kSshd, &actions, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    if (rc != 0) {
        whyNot = std::string("posix_spawn sshd: ") + std::generic_category().message(rc);
        pid_ = -1;
        return false;
    }
    writeText(path("sshd.pid"), std::to_string(pid_) + "\n", 0644);
    const auto deadline = std::chrono::steady_clock::now() + 20s;
    while (std::chrono::steady_clock::now() < deadline) {
        int status = 0;
        if (::waitpid(pid_, &status, WNOHANG) == pid_) {
            pid_ = -1;
            whyNot = "sshd exited at start: " + log();
            return false;
        }
        if (accepting(port_))
            return true;
        std::this_thread::sleep_for(10ms); // Polling a condition, with a deadline.
    }
    whyNot = "sshd did not listen within 20 s: " + log();
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
    pid_ = -1;
    return false;
}

SshdHarness::~SshdHarness() {
    if (pid_ > 0) {
        ::kill(pid_, SIGTERM);
        ::waitpid(pid_, nullptr, 0);
    }
    // NOLINTNEXTLINE(concurrency-mt-unsafe): nothing sets the environment while tests run.
    if (!dir_.empty() && std::getenv("AUTOSCALE_KEEP_SSHD_DIR") == nullptr) {
        std::error_code ignored;
        fs::remove_all(dir_, ignored);
    }
}

std::string SshdHarness::path(const std::string& relative) const {
    return dir_ + "/" + relative;
}

void SshdHarness::authorize(const std::string& publicKeyLine) const {
    std::ofstream out(path("authorized_keys"), std::ios::app);
    out << publicKeyLine << "\n";
}

void SshdHarness::writeFile(const std::string& relative, const std::string& text) const {
    writeText(path(relative), text, 0644);
}

std::string SshdHarness::readFile(const std::string& relative) const {
    std::ifstream in(path(relative), std::ios::binary);
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
}

std::vector<RecordedCommand> SshdHarness::commands() const {
    std::vector<std::string> names;
    for (const auto& entry : fs::directory_iterator(path("record"))) {
        const auto name = entry.path().filename().string();
        if (name.ends_with(".cmd"))
            names.push_back(name.substr(0, name.size() - 4));
    }
    std::sort(names.begin(), names.end());
    std::vector<RecordedCommand> out;
    out.reserve(names.size());
    for (const auto& name : names)
        out.push_back({readFile("record/" + name + ".cmd"), readFile("record/" + name + ".stdin")});
    return out;
}

std::vector<std::string> SshdHarness::containers() const {
    std::vector<std::string> names;
    for (const auto& entry : fs::directory_iterator(path("containers")))
        names.push_back(entry.path().filename().string());
    std::sort(names.begin(), names.end());
    return names;
}

std::unique_ptr<SshdHarness> startSshdOrSkip() {
    std::string whyNot;
    auto harness = SshdHarness::start(whyNot);
    if (!harness) {
        std::cerr << "SKIP: cannot start sshd: " << whyNot << std::endl;
        std::_Exit(77);
    }
    return harness;
}

SilentListener::SilentListener() {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t size = sizeof addr;
    if (fd_ < 0 || ::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
        ::listen(fd_, 16) != 0 ||
        ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &size) != 0) {
        throw std::runtime_error(std::string("silent listener: ") +
                                 std::generic_category().message(errno));
    }
    port_ = ntohs(addr.sin_port);
}

SilentListener::~SilentListener() {
    if (fd_ >= 0)
        ::close(fd_);
}

} // namespace autoscale::test
