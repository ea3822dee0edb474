// Path helpers shared by the daemon and the commands. Pure functions: safe from any thread.
#pragma once

#include <string>

namespace skynet {

// The folder a path is in, without a trailing slash: "/a/b/" -> "/a", "/a" -> "/", "logs" -> ".".
std::string parentFolder(std::string path);

}  // namespace skynet
