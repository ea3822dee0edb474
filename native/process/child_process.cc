#include "process/child_process.h"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <sstream>

namespace skynet::process {

std::string ExitStatus::describe() const {
  if (signal != 0) return "signal " + std::to_string(signal) + " (" + strsignal(signal) + ")";
  return "exit code " + std::to_string(exitCode);
}

std::string findExecutable(const std::string& name, const std::string& searchPath) {
  if (name.empty()) return "";
  auto executable = [](const std::string& path) {
    struct stat info {};
    return stat(path.c_str(), &info) == 0 && S_ISREG(info.st_mode) && access(path.c_str(), X_OK) == 0;
  };
  if (name.find('/') != std::string::npos) return executable(name) ? name : "";
  std::istringstream dirs(searchPath);
  std::string dir;
  while (std::getline(dirs, dir, ':')) {
    const std::string candidate = (dir.empty() ? "." : dir) + "/" + name;
    if (executable(candidate)) return candidate;
  }
  return "";
}

namespace {

// posix_spawn's attributes and file actions, destroyed on every path.
struct SpawnAttributes {
  posix_spawnattr_t value;
  SpawnAttributes() { posix_spawnattr_init(&value); }
  ~SpawnAttributes() { posix_spawnattr_destroy(&value); }
};
struct SpawnActions {
  posix_spawn_file_actions_t value;
  SpawnActions() { posix_spawn_file_actions_init(&value); }
  ~SpawnActions() { posix_spawn_file_actions_destroy(&value); }
};

std::vector<char*> pointersTo(std::vector<std::string>& strings) {
  std::vector<char*> pointers;
  for (auto& item : strings) pointers.push_back(item.data());
  pointers.push_back(nullptr);
  return pointers;
}

}  // namespace

std::unique_ptr<ChildProcess> ChildProcess::launch(const LaunchSpec& spec) {
  std::vector<std::string> argvStrings{spec.executable};
  argvStrings.insert(argvStrings.end(), spec.arguments.begin(), spec.arguments.end());
  std::vector<std::string> envStrings;
  for (const auto& [name, value] : spec.environment) envStrings.push_back(name + "=" + value);
  std::vector<char*> argv = pointersTo(argvStrings);
  std::vector<char*> envp = pointersTo(envStrings);

  // Checked here, so the error names the folder rather than the executable.
  if (!spec.workingDirectory.empty()) {
    struct stat info {};
    int error = 0;
    if (stat(spec.workingDirectory.c_str(), &info) != 0) error = errno;
    else if (!S_ISDIR(info.st_mode)) error = ENOTDIR;
    else if (access(spec.workingDirectory.c_str(), X_OK) != 0) error = errno;
    if (error != 0) {
      throw LaunchError("cannot enter working directory " + spec.workingDirectory + ": " + std::strerror(error));
    }
  }
  const int output = open(spec.outputFile.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0640);
  if (output < 0) {
    throw LaunchError("cannot open output file " + spec.outputFile + ": " + std::strerror(errno));
  }

  // posix_spawn (a vfork-style clone in glibc) instead of fork(): the daemon's memory is not
  // copied for every task, and it returns only once the child has executed or failed to, with
  // the exec's errno. What the child does before exec, in this order:
  SpawnAttributes attributes;
  // - its own process group (pgid = its pid), so the whole group can be signalled;
  // - the default mask and dispositions: the daemon's handlers and ignored signals do not reach it;
  short flags = POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF;
  posix_spawnattr_setflags(&attributes.value, flags);
  posix_spawnattr_setpgroup(&attributes.value, 0);
  sigset_t none;
  sigemptyset(&none);
  posix_spawnattr_setsigmask(&attributes.value, &none);
  sigset_t defaults;
  sigemptyset(&defaults);
  for (int sig : {SIGTERM, SIGINT, SIGHUP, SIGCHLD, SIGPIPE}) sigaddset(&defaults, sig);
  posix_spawnattr_setsigdefault(&attributes.value, &defaults);
  SpawnActions actions;
  // - stdin from /dev/null, stdout and stderr to the output file;
  posix_spawn_file_actions_addopen(&actions.value, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&actions.value, output, 1);
  posix_spawn_file_actions_adddup2(&actions.value, output, 2);
  // - nothing else the daemon holds (database socket, listening socket, pipes) reaches the task;
  posix_spawn_file_actions_addclosefrom_np(&actions.value, 3);
  // - the working directory.
  if (!spec.workingDirectory.empty()) {
    posix_spawn_file_actions_addchdir_np(&actions.value, spec.workingDirectory.c_str());
  }
  pid_t pid = -1;
  const int error = posix_spawn(&pid, spec.executable.c_str(), &actions.value, &attributes.value, argv.data(), envp.data());
  close(output);
  if (error != 0) throw LaunchError("cannot execute " + spec.executable + ": " + std::strerror(error));
  return std::unique_ptr<ChildProcess>(new ChildProcess(pid));
}

namespace {
ExitStatus decode(int raw) {
  ExitStatus status;
  if (WIFEXITED(raw)) status.exitCode = WEXITSTATUS(raw);
  if (WIFSIGNALED(raw)) status.signal = WTERMSIG(raw);
  return status;
}
}  // namespace

std::optional<ExitStatus> ChildProcess::poll() {
  if (status_) return status_;
  int raw = 0;
  const pid_t done = waitpid(pid_, &raw, WNOHANG);
  if (done == pid_) status_ = decode(raw);
  return status_;
}

ExitStatus ChildProcess::wait() {
  while (!status_) {
    int raw = 0;
    const pid_t done = waitpid(pid_, &raw, 0);
    if (done == pid_) status_ = decode(raw);
    else if (done < 0 && errno != EINTR) status_ = ExitStatus{};
  }
  return *status_;
}

void ChildProcess::signalGroup(int signal) {
  // While any member is left, no new process can be given this pid, so -pid_ is still our group.
  kill(-pid_, signal);
}

std::unique_ptr<ChildProcess> ChildProcess::attach(pid_t pid) {
  if (pid <= 0) return nullptr;
  int raw = 0;
  const pid_t done = waitpid(pid, &raw, WNOHANG);
  if (done < 0) return nullptr;  // ECHILD: not ours
  std::unique_ptr<ChildProcess> child(new ChildProcess(pid));
  if (done == pid) child->status_ = decode(raw);
  return child;
}

}  // namespace skynet::process
