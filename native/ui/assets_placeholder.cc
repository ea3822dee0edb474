// Until the web UI lands (issue "The run owners' web UI"), the daemon serves no pages.
#include "ui/assets.h"

namespace skynet::ui {

const Asset* findAsset(const std::string&) { return nullptr; }

}  // namespace skynet::ui
