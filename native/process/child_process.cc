#include "process/child_process.h"

#include <fcntl.h>
#include <linux/close_range.h>
#include <signal.h>
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

std::unique_ptr<ChildProcess> ChildProcess::launch(const LaunchSpec& spec) {
  // Everything the child needs is built before fork: between fork and exec only
  // async-signal-safe calls are allowed.
  std::vector<std::string> argvStrings{spec.executable};
  argvStrings.insert(argvStrings.end(), spec.arguments.begin(), spec.arguments.end());
  std::vector<char*> argv;
  for (auto& item : argvStrings) argv.push_back(item.data());
  argv.push_back(nullptr);
  std::vector<std::string> envStrings;
  for (const auto& [name, value] : spec.environment) envStrings.push_back(name + "=" + value);
  std::vector<char*> envp;
  for (auto& item : envStrings) envp.push_back(item.data());
  envp.push_back(nullptr);

  const int output = open(spec.outputFile.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0640);
  if (output < 0) {
    throw LaunchError("cannot open output file " + spec.outputFile + ": " + std::strerror(errno));
  }
  // The child reports a failed exec through this pipe; a successful exec closes it.
  int report[2];
  if (pipe2(report, O_CLOEXEC) != 0) {
    close(output);
    throw LaunchError(std::string("cannot create a pipe: ") + std::strerror(errno));
  }

  const pid_t pid = fork();
  if (pid < 0) {
    const int error = errno;
    close(output);
    close(report[0]);
    close(report[1]);
    throw LaunchError(std::string("cannot fork: ") + std::strerror(error));
  }
  if (pid == 0) {
    setpgid(0, 0);
    // Default dispositions and mask: the daemon's handlers must not reach the task.
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    for (int sig : {SIGTERM, SIGINT, SIGHUP, SIGCHLD, SIGPIPE}) signal(sig, SIG_DFL);
    const int devnull = open("/dev/null", O_RDONLY);
    if (devnull < 0 || dup2(devnull, 0) < 0 || dup2(output, 1) < 0 || dup2(output, 2) < 0 ||
        (!spec.workingDirectory.empty() && chdir(spec.workingDirectory.c_str()) != 0)) {
      const int error = errno;
      (void)!write(report[1], &error, sizeof error);
      _exit(127);
    }
    // Nothing else the daemon holds (database socket, listening socket) reaches the task:
    // mark every other descriptor close-on-exec; the report pipe is close-on-exec already.
    if (close_range(3, ~0U, CLOSE_RANGE_CLOEXEC) != 0) {
      for (int fd = 3; fd < 4096; ++fd) {
        if (fd != report[1]) close(fd);
      }
    }
    execve(argv[0], argv.data(), envp.data());
    const int error = errno;
    (void)!write(report[1], &error, sizeof error);
    _exit(127);
  }
  // Set it from the parent too, so the group exists before anyone signals it.
  setpgid(pid, pid);
  close(output);
  close(report[1]);
  int childError = 0;
  ssize_t got;
  do {
    got = read(report[0], &childError, sizeof childError);
  } while (got < 0 && errno == EINTR);
  close(report[0]);
  if (got == static_cast<ssize_t>(sizeof childError)) {
    waitpid(pid, nullptr, 0);
    throw LaunchError("cannot execute " + spec.executable + ": " + std::strerror(childError));
  }
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
