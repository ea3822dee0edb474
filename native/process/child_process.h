// A child process in a process group of its own, its stdout and stderr going to a file.
//
// Poco::Process cannot put a child into a new process group, close inherited descriptors, or
// give a non-blocking wait, and all three matter here: a task's drush starts sub-processes that
// must be killed with it, the database socket must not leak into tasks, and the daemon watches
// many children from one loop. So this uses fork/execve directly.
//
// The object does not kill its process when destroyed: a daemon told to leave its tasks running
// for the next start (queue.shutdown = adopt) lets them outlive it.
#pragma once

#include <sys/types.h>

#include <map>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace skynet::process {

class LaunchError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct LaunchSpec {
  std::string executable;              // a path; see findExecutable()
  std::vector<std::string> arguments;  // without argv[0]
  std::map<std::string, std::string> environment;  // the whole environment of the child
  std::string outputFile;              // stdout and stderr; emptied first, then appended to
  std::string workingDirectory;        // empty: inherit
};

struct ExitStatus {
  int exitCode = -1;  // when it exited
  int signal = 0;     // when a signal ended it
  bool succeeded() const { return signal == 0 && exitCode == 0; }
  // "exit code 3", "signal 9 (Killed)"
  std::string describe() const;
};

// `name` itself when it holds a slash, else the first executable match in `searchPath`
// (colon-separated); empty when there is none.
std::string findExecutable(const std::string& name, const std::string& searchPath);

class ChildProcess {
 public:
  // Starts the child; throws LaunchError (with the reason from the child's exec) on failure.
  static std::unique_ptr<ChildProcess> launch(const LaunchSpec& spec);

  // A child of this process started before (by this image or the one before an execve), found by
  // its pid; nullptr when `pid` is not a child of ours (then only its identity can be watched).
  static std::unique_ptr<ChildProcess> attach(pid_t pid);

  pid_t pid() const { return pid_; }
  // Non-blocking: the exit status once the child has ended, else nullopt. Reaps it.
  std::optional<ExitStatus> poll();
  // Blocks until the child ends.
  ExitStatus wait();
  // Sends `signal` to the child's whole process group, also after the leader was reaped: members
  // that ignored SIGTERM must still get the SIGKILL. Once the group is empty nothing is sent.
  void signalGroup(int signal);

 private:
  explicit ChildProcess(pid_t pid) : pid_(pid) {}
  pid_t pid_;
  std::optional<ExitStatus> status_;
};

}  // namespace skynet::process
