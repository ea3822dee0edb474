// The run owners' web UI (SPEC 3.6): its files, compiled into the binary at build time, so the
// daemon serves them with nothing fetched at run time.
//
// Contract: findAsset() maps a request path to an immutable file ("/" and the page paths give
// the page that handles them); it never touches the disk. Thread-safe: the data is constant.
#pragma once

#include <cstddef>
#include <string>

namespace skynet::ui {

struct Asset {
  const char* path;         // as requested, e.g. "/assets/app.js"
  const char* contentType;  // e.g. "text/html; charset=utf-8"
  const unsigned char* data;
  std::size_t size;
};

// The asset served at `path` (without the query string), or nullptr when there is none.
const Asset* findAsset(const std::string& path);

}  // namespace skynet::ui
