#include "ui/assets.h"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

namespace skynet::ui {
namespace {

std::string bytesOf(const Asset& asset) {
  return std::string(reinterpret_cast<const char*>(asset.data), asset.size);
}

std::string fileInSource(const std::string& relative) {
  std::ifstream in(std::string(SKYNET_SOURCE_DIR) + "/" + relative, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

TEST(Assets, EveryPagePathGetsTheOnePage) {
  const std::string page = fileInSource("native/ui/web/index.html");
  ASSERT_FALSE(page.empty());
  for (const char* path : {"/", "/runs", "/projects", "/applications", "/run/1", "/run/123456"}) {
    const Asset* asset = findAsset(path);
    ASSERT_NE(asset, nullptr) << path;
    EXPECT_STREQ(asset->contentType, "text/html; charset=utf-8") << path;
    EXPECT_EQ(bytesOf(*asset), page) << path;
  }
}

TEST(Assets, ServesTheFilesAsTheyAreInTheRepository) {
  const Asset* script = findAsset("/assets/app.js");
  ASSERT_NE(script, nullptr);
  EXPECT_STREQ(script->contentType, "text/javascript; charset=utf-8");
  EXPECT_EQ(bytesOf(*script), fileInSource("native/ui/web/app.js"));
  const Asset* style = findAsset("/assets/app.css");
  ASSERT_NE(style, nullptr);
  EXPECT_STREQ(style->contentType, "text/css; charset=utf-8");
  EXPECT_EQ(bytesOf(*style), fileInSource("native/ui/web/app.css"));
  const Asset* icon = findAsset("/assets/favicon.svg");
  ASSERT_NE(icon, nullptr);
  EXPECT_STREQ(icon->contentType, "image/svg+xml");
}

TEST(Assets, BundlesDebiansBootstrap) {
  const Asset* bootstrap = findAsset("/assets/bootstrap.min.css");
  ASSERT_NE(bootstrap, nullptr);
  EXPECT_GT(bootstrap->size, 100000u);
  EXPECT_NE(bytesOf(*bootstrap).find("Bootstrap"), std::string::npos);
}

TEST(Assets, AnythingElseIsNotFound) {
  for (const char* path : {"", "/index.html", "/run", "/run/", "/run/abc", "/run/1/x", "/runs/",
                           "/assets/", "/assets/missing.js", "/assets/../native/ui/web/app.js",
                           "/api/run/list", "/favicon.ico", "/assets/app.js/"}) {
    EXPECT_EQ(findAsset(path), nullptr) << path;
  }
}

}  // namespace
}  // namespace skynet::ui
