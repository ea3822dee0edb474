// Which embedded file answers a path: the page paths of the client-side router all get the one
// page (index.html), files under /assets/ themselves, anything else nothing.
#include <cctype>

#include "ui/embedded_assets.h"

namespace skynet::ui {
namespace {

const Asset* embedded(const std::string& path) {
  for (std::size_t i = 0; i < kEmbeddedAssetCount; ++i) {
    if (path == kEmbeddedAssets[i].path) return &kEmbeddedAssets[i];
  }
  return nullptr;
}

bool allDigits(const std::string& text) {
  if (text.empty() || text.size() > 19) return false;
  for (char c : text) {
    if (!std::isdigit(static_cast<unsigned char>(c))) return false;
  }
  return true;
}

// The paths app.js routes (keep the two lists together): /, /runs, /projects, /applications,
// /run/<id>.
bool isPagePath(const std::string& path) {
  if (path == "/" || path == "/runs" || path == "/projects" || path == "/applications") return true;
  const std::string runPrefix = "/run/";
  return path.compare(0, runPrefix.size(), runPrefix) == 0 && allDigits(path.substr(runPrefix.size()));
}

}  // namespace

const Asset* findAsset(const std::string& path) {
  if (isPagePath(path)) return embedded("/");
  if (path.compare(0, 8, "/assets/") == 0) return embedded(path);
  return nullptr;
}

}  // namespace skynet::ui
