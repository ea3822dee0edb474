// The web UI's files as compiled into the binary: a table generated at build time by
// native/ui/embed_assets.cmake (one entry per file under native/ui/web/, plus Debian's Bootstrap
// CSS). Internal to native/ui/: the rest of the daemon asks ui/assets.h, which routes page paths.
#pragma once

#include <cstddef>

#include "ui/assets.h"

namespace skynet::ui {

extern const Asset kEmbeddedAssets[];
extern const std::size_t kEmbeddedAssetCount;

}  // namespace skynet::ui
